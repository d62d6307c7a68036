/**
 * The room's view of D1: writing flushed batches and reading what the room no longer holds
 * locally. Writes are upserts by message id, so running the same flush twice is harmless.
 */
import { and, between, asc, eq } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { progressStatements } from "../db/rooms";
import { messages, type MessageRow } from "../db/schema";
import type { Message } from "../protocol";
import { toMessage, type DirtyRow } from "./store";

/**
 * Rows go to D1 as one JSON parameter per statement, not as bound values (D1 binds at most
 * 100 per statement, which would mean 9 rows each). A parameter may hold 2 MB; this many UTF-16
 * units stay under that even if every one takes three bytes.
 */
export const MAX_JSON_PER_STATEMENT = 600_000;

export class Archive {
  private readonly db: DrizzleD1Database;

  constructor(private readonly d1: D1Database) {
    this.db = drizzle(d1);
  }

  /**
   * Writes the rows, the room's newest message and members' read positions in one D1 batch
   * (one transaction): all of it or none.
   */
  async write(roomId: string, rows: DirtyRow[], reads: { userId: string; seq: number }[]): Promise<void> {
    const newest = rows.reduce<DirtyRow | null>((a, r) => (a === null || r.seq > a.seq ? r : a), null);
    const statements = progressStatements(this.d1, roomId, newest ? toMessage(roomId, newest) : null, reads);
    let chunk: string[] = [];
    let size = 0;
    const upsert = () => {
      if (chunk.length > 0) statements.push(this.upsert(roomId, `[${chunk.join(",")}]`));
      chunk = [];
      size = 0;
    };
    for (const r of rows) {
      const json = JSON.stringify([
        r.id,
        r.seq,
        r.client_id,
        r.author_id,
        r.author_name,
        r.text,
        r.reply_to,
        r.created_at,
        r.edited_at,
        r.deleted_at,
      ]);
      if (size + json.length > MAX_JSON_PER_STATEMENT) upsert();
      chunk.push(json);
      size += json.length + 1;
    }
    upsert();
    if (statements.length > 0) await this.d1.batch(statements);
  }

  /**
   * Inserts or updates (by id) the rows of one JSON list of [id, seq, clientId, ...]. Plain D1,
   * not the query builder: this is the flush's hot path, and drizzle builds per row.
   */
  private upsert(roomId: string, list: string): D1PreparedStatement {
    return this.d1
      .prepare(
        `INSERT INTO messages (id, room_id, seq, client_id, author_id, author_name, text, reply_to, created_at, edited_at, deleted_at)
         SELECT r ->> 0, ?1, r ->> 1, r ->> 2, r ->> 3, r ->> 4, r ->> 5, r ->> 6, r ->> 7, r ->> 8, r ->> 9
         FROM (SELECT value AS r FROM json_each(?2)) WHERE true
         ON CONFLICT (id) DO UPDATE SET text = excluded.text, edited_at = excluded.edited_at, deleted_at = excluded.deleted_at`,
      )
      .bind(roomId, list);
  }

  /** Messages with lo <= seq <= hi from D1, ascending. */
  async range(roomId: string, lo: number, hi: number): Promise<Message[]> {
    if (hi < lo) return [];
    const rows = await this.db
      .select()
      .from(messages)
      .where(and(eq(messages.roomId, roomId), between(messages.seq, lo, hi)))
      .orderBy(asc(messages.seq));
    return rows.map(fromRow);
  }

  /** Changes a message the room no longer holds, directly in D1. */
  async update(roomId: string, id: string, change: { text: string; editedAt?: string; deletedAt?: string }) {
    const rows = await this.db
      .update(messages)
      .set({ text: change.text, ...(change.editedAt ? { editedAt: change.editedAt } : {}), ...(change.deletedAt ? { deletedAt: change.deletedAt } : {}) })
      .where(and(eq(messages.roomId, roomId), eq(messages.id, id)))
      .returning();
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async byId(roomId: string, id: string): Promise<Message | null> {
    const rows = await this.db
      .select()
      .from(messages)
      .where(and(eq(messages.roomId, roomId), eq(messages.id, id)))
      .limit(1);
    return rows[0] ? fromRow(rows[0]) : null;
  }
}

function fromRow(r: MessageRow): Message {
  return toMessage(r.roomId, {
    seq: r.seq,
    id: r.id,
    client_id: r.clientId,
    author_id: r.authorId,
    author_name: r.authorName,
    text: r.text,
    reply_to: r.replyTo ? JSON.stringify(r.replyTo) : null,
    created_at: r.createdAt,
    edited_at: r.editedAt,
    deleted_at: r.deletedAt,
  });
}
