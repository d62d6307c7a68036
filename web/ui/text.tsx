/**
 * Message text as Preact nodes, never as HTML: every piece is a string child, which the DOM gets
 * as a text node. Links become <a> only for http(s) addresses (so never `javascript:`), and
 * `@name` mentions are marked (the reader's own more strongly).
 */
import type { ComponentChild } from "preact";

// An address runs to the next space; trailing punctuation is the sentence's, not the link's.
const TOKENS = /(https?:\/\/[^\s<>"]+)|(^|[^\w@])(@[\p{L}\p{N}_-]{1,64})/gu;
const TRAILING = /[.,;:!?)\]}'"»]+$/;

export function RichText({ text, me }: { text: string; me: { id: string; name: string } }) {
  const out: ComponentChild[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKENS)) {
    const index = m.index ?? 0;
    if (m[1]) {
      const url = m[1].replace(TRAILING, "");
      out.push(text.slice(last, index));
      out.push(link(url));
      last = index + url.length;
    } else if (m[3]) {
      const at = index + (m[2]?.length ?? 0);
      out.push(text.slice(last, at));
      const handle = m[3].slice(1).toLowerCase();
      const mine = handle === me.id.toLowerCase() || handle === me.name.replace(/\s+/g, "").toLowerCase();
      out.push(<span class={mine ? "mention me" : "mention"}>{m[3]}</span>);
      last = at + m[3].length;
    }
  }
  out.push(text.slice(last));
  return <>{out}</>;
}

function link(url: string): ComponentChild {
  let href: string;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return url;
    href = parsed.href;
  } catch {
    return url;
  }
  return (
    <a href={href} target="_blank" rel="noopener noreferrer nofollow ugc">
      {url}
    </a>
  );
}

/** Whether a text mentions this person (by id, or by name without spaces), as the server matches. */
export function mentions(text: string, me: { id: string; name: string }): boolean {
  for (const m of text.matchAll(TOKENS)) {
    const handle = m[3]?.slice(1).toLowerCase();
    if (handle && (handle === me.id.toLowerCase() || handle === me.name.replace(/\s+/g, "").toLowerCase())) return true;
  }
  return false;
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&#x27;": "'" };

/**
 * A search snippet: the server sends escaped HTML whose only tags are <mark> and </mark>. It is
 * not trusted as HTML here either: split on the two tags, unescape the rest into plain text,
 * and build the marks ourselves.
 */
export function Snippet({ html }: { html: string }) {
  const parts = html.split(/(<mark>|<\/mark>)/);
  const out: ComponentChild[] = [];
  let marked = false;
  for (const part of parts) {
    if (part === "<mark>") marked = true;
    else if (part === "</mark>") marked = false;
    else if (part) {
      const text = part.replace(/&(?:amp|lt|gt|quot|#39|#x27);/g, (e) => ENTITIES[e] ?? e);
      out.push(marked ? <mark>{text}</mark> : text);
    }
  }
  return <>{out}</>;
}
