/**
 * The search query: full-text matches among the caller's rooms, best first. Plain D1 SQL
 * (drizzle has no FTS5). Membership comes from D1's `members`, which every room writes
 * through and where every member has a community row.
 */
import { fromD1Row, SELECT_MESSAGES, type MessageWithQuote } from "../db/messages";
import type { Message } from "../protocol";
import { encodeCursor, MAX_OFFSET, type Cursor } from "./cursor";
import { HIT_CLOSE, HIT_OPEN, snippetHtml } from "./snippet";

export interface SearchParams {
  userId: string;
  /** From `matchExpression`: never raw user text. */
  match: string;
  roomId?: string;
  limit: number;
  before?: Cursor;
}

export interface SearchPage {
  results: { message: Message; snippet: string }[];
  nextBefore: string | null;
}

/** Words of context around the hits in a snippet. */
const SNIPPET_TOKENS = 12;

// The CROSS JOINs pin the plan: the index drives, then each hit is checked against the
// caller's membership. Left to itself the planner may walk every message of the caller's
// rooms and probe the index once per message, which is ruinous for the community room.
// bm25 is smaller for better matches; ties go to the newer message, then the id, so the
// order is total and offset pages neither repeat nor skip. Snippets are made only for the
// page (in `marked`): making them in `page` would build one for every match before sorting.
const SEARCH_SQL = `
  WITH bound AS (SELECT coalesce(?4, (SELECT max(rowid) FROM messages), 0) AS horizon),
  page AS MATERIALIZED (
    SELECT m.rowid AS rid, m.id AS id, bm25(messages_fts) AS score, m.created_at AS at
    FROM messages_fts CROSS JOIN messages m CROSS JOIN members mb
    WHERE messages_fts MATCH ?1
      AND m.rowid = messages_fts.rowid
      AND mb.room_id = m.room_id AND mb.user_id = ?2
      AND m.deleted_at IS NULL
      AND (?3 IS NULL OR m.room_id = ?3)
      AND m.rowid <= (SELECT horizon FROM bound)
    ORDER BY score, at DESC, id DESC
    LIMIT ?5 OFFSET ?6
  ),
  marked AS (
    SELECT rowid AS rid, snippet(messages_fts, 0, ?7, ?8, '…', ${SNIPPET_TOKENS}) AS snippet
    FROM messages_fts WHERE messages_fts MATCH ?1 AND rowid IN (SELECT rid FROM page)
  )
  SELECT marked.snippet AS snippet, (SELECT horizon FROM bound) AS horizon, s.*
  FROM page
  JOIN marked ON marked.rid = page.rid
  JOIN (${SELECT_MESSAGES} WHERE m.id IN (SELECT id FROM page)) s ON s.id = page.id
  ORDER BY page.score, page.at DESC, page.id DESC`;

type Row = MessageWithQuote & { snippet: string; horizon: number };

export async function searchMessages(d1: D1Database, p: SearchParams): Promise<SearchPage> {
  const offset = p.before?.offset ?? 0;
  // One row past the page tells whether there is another.
  const { results: rows } = await d1
    .prepare(SEARCH_SQL)
    .bind(p.match, p.userId, p.roomId ?? null, p.before?.horizon ?? null, p.limit + 1, offset, HIT_OPEN, HIT_CLOSE)
    .all<Row>();
  const page = rows.slice(0, p.limit);
  const next = offset + p.limit;
  const more = rows.length > p.limit && next <= MAX_OFFSET;
  return {
    results: page.map((r) => ({ message: fromD1Row(r), snippet: snippetHtml(r.snippet) })),
    nextBefore: more ? encodeCursor({ offset: next, horizon: rows[0]!.horizon }) : null,
  };
}
