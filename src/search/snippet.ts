/**
 * Snippets go to browsers, so they are HTML: the message text HTML-escaped, with `<mark>` and
 * `</mark>` around the matched words and no other markup. SQLite marks the hits with two
 * control characters that message text can never contain (the protocol refuses control
 * characters), which survive escaping and then become the tags.
 */

export const HIT_OPEN = "\u0002";
export const HIT_CLOSE = "\u0003";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** SQLite's marked snippet → escaped HTML with only `<mark>` tags. */
export function snippetHtml(marked: string): string {
  return escapeHtml(marked).replaceAll(HIT_OPEN, "<mark>").replaceAll(HIT_CLOSE, "</mark>");
}
