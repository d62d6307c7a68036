/**
 * Full-text search over the person's rooms (or one room), hits highlighted. The snippet's
 * highlights are rebuilt from its <mark> tags as text nodes, never put in as HTML.
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { SearchPage } from "../../src/client";
import { jumpTarget } from "../room/ChatRoom";
import { titleOf } from "../room/live-room";
import { app } from "../state/app";
import { navigate } from "../state/route";
import { roomById, rooms } from "../state/rooms";
import { reason } from "../state/toasts";
import { shortTime } from "./format";
import { Icon } from "./icons";
import { Snippet } from "./text";

export function SearchPage({ q, roomId }: { q: string; roomId?: string }) {
  const results = useSignal<SearchPage["results"] | null>(null);
  const next = useSignal<string | null>(null);
  const error = useSignal("");
  const draft = useSignal(q);
  /** Bumped by every submit, so the same words searched again are searched again (new messages). */
  const tries = useSignal(0);

  // Props, not signals: a new search from this page re-renders it with other words.
  useEffect(() => {
    draft.value = q;
  }, [q]);
  useEffect(() => {
    results.value = null;
    error.value = "";
    if (!q.trim()) return;
    let live = true;
    app()
      .client.search(q, { roomId, limit: 20 })
      .then(
        (page) => live && ((results.value = page.results), (next.value = page.nextBefore)),
        (err) => live && (error.value = reason(err)),
      );
    return () => void (live = false);
  }, [q, roomId, tries.value]);

  async function more() {
    try {
      const page = await app().client.search(q, { roomId, limit: 20, before: next.value ?? undefined });
      results.value = [...(results.value ?? []), ...page.results];
      next.value = page.nextBefore;
    } catch (err) {
      error.value = reason(err);
    }
  }

  const roomTitle = (id: string) => {
    const r = roomById(id);
    return r ? titleOf(r, undefined, id) : id;
  };

  return (
    <section class="page search-page" aria-labelledby="search-title">
      <header class="page-head">
        <a class="back" href="#" aria-label="Back to conversations">
          <Icon name="back" size={22} />
        </a>
        <h1 id="search-title">Search</h1>
      </header>
      <form
        class="row-form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          tries.value++;
          navigate({ kind: "search", q: draft.value.trim(), roomId });
        }}
      >
        <label>
          Words to find
          <input type="search" value={draft.value} onInput={(e) => (draft.value = e.currentTarget.value)} autoFocus />
        </label>
        <label>
          In
          <select value={roomId ?? ""} onChange={(e) => navigate({ kind: "search", q: draft.value.trim(), roomId: e.currentTarget.value || undefined })}>
            <option value="">All conversations</option>
            {rooms.value.map((r) => (
              <option key={r.id} value={r.id}>
                {titleOf(r, undefined, r.id)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      {error.value && (
        <p class="error" role="alert">
          {error.value}
        </p>
      )}
      {results.value && (
        <p class="muted" role="status">
          {results.value.length === 0 ? `Nothing found for “${q}”.` : `${results.value.length}${next.value ? "+" : ""} results for “${q}”`}
        </p>
      )}
      <ol class="results">
        {(results.value ?? []).map(({ message, snippet }) => (
          <li key={message.id}>
            <button
              type="button"
              class="result"
              onClick={() => {
                jumpTarget.value = { roomId: message.roomId, messageId: message.id, seq: message.seq };
                navigate({ kind: "room", roomId: message.roomId });
              }}
            >
              <span class="result-meta">
                <b>{message.author.name}</b> in {roomTitle(message.roomId)} · <time dateTime={message.createdAt}>{shortTime(message.createdAt)}</time>
              </span>
              <span class="snippet">
                <Snippet html={snippet} />
              </span>
            </button>
          </li>
        ))}
      </ol>
      {next.value && (
        <button type="button" onClick={() => void more()}>
          More results
        </button>
      )}
    </section>
  );
}
