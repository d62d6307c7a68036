/**
 * The room's view of D1: writing flushed batches and reading what the room no longer holds
 * locally. Writes are upserts by message id that never replace a newer revision with an older
 * one, so running a flush twice, or two flushes in either order, leaves the newest version.
 */
import { progressStatements, readStatement } from "../db/rooms";
import { SELECT_MESSAGES, STORED_COLUMNS, storedValues, type MessageWithQuote } from "../db/messages";
import type { DirtyRow, Row } from "./store";

/**
 * Rows go to D1 as one JSON parameter per statement, not as bound values (D1 binds at most
 * 100 per statement, which would mean 9 rows each). A parameter may hold 2 MB; this many UTF-16
 * units stay under that even if every one takes three bytes.
 */
export const MAX_JSON_PER_STATEMENT = 600_000;

export class Archive {
  /**
   * Writes the room makes to D1 outside its flush (erasure's bulk tombstones): one at a time, and
   * counted, so a read for adoption that overlapped one reads again (`byIdSettled`).
   */
  private bulkRunning: Promise<unknown> | null = null;
  private bulkCount = 0;

  constructor(private readonly d1: D1Database) {}

  /**
   * Writes the rows, the room's progress and members' read positions in one D1 batch (one
   * transaction): all of it or none.
   */
  async write(roomId: string, rows: DirtyRow[], reads: { userId: string; seq: number }[], firstSeq = 1): Promise<void> {
    const newest = rows.reduce<DirtyRow | null>((a, r) => (a === null || r.seq > a.seq ? r : a), null);
    const statements: D1PreparedStatement[] = [];
    let chunk: string[] = [];
    let size = 0;
    const upsert = () => {
      if (chunk.length > 0) statements.push(this.upsert(roomId, `[${chunk.join(",")}]`, firstSeq));
      chunk = [];
      size = 0;
    };
    for (const r of rows) {
      const json = JSON.stringify([...storedValues(r), r.rev]);
      if (size + json.length > MAX_JSON_PER_STATEMENT) upsert();
      chunk.push(json);
      size += json.length + 1;
    }
    upsert();
    // Progress after the rows: the room list reads the last message by (room, last_seq).
    statements.push(...progressStatements(this.d1, roomId, newest && { seq: newest.seq, createdAt: newest.created_at }, reads));
    if (statements.length > 0) await this.d1.batch(statements);
  }

  /** Members' read positions alone, for a read that should reach the room list at once. */
  async writeReads(roomId: string, reads: { userId: string; seq: number }[]): Promise<void> {
    if (reads.length > 0) await readStatement(this.d1, roomId, reads).run();
  }

  /**
   * Inserts or updates (by id) the rows of one JSON list of [...storedValues(row), rev]. Plain
   * D1, not the query builder: this is the flush's hot path, and drizzle builds per row. Rows
   * below `firstSeq` are retention's to remove and are never written again: a flush that was
   * under way when the room learned of the removal cannot bring them back.
   */
  private upsert(roomId: string, list: string, firstSeq: number): D1PreparedStatement {
    return this.d1
      .prepare(
        `INSERT INTO messages (id, room_id, seq, client_id, author_id, author_name, text, reply_to_id, created_at, edited_at, deleted_at, reactions, attachments, rev)
         SELECT r ->> 1, ?1, r ->> 0, r ->> 2, r ->> 3, r ->> 4, r ->> 5, r ->> 6, r ->> 7, r ->> 8, r ->> 9, r ->> 10, r ->> 11, r ->> 12
         FROM (SELECT value AS r FROM json_each(?2)) WHERE r ->> 0 >= ?3
         ON CONFLICT (id) DO UPDATE SET text = excluded.text, edited_at = excluded.edited_at, deleted_at = excluded.deleted_at,
           reply_to_id = excluded.reply_to_id, reactions = excluded.reactions, attachments = excluded.attachments, rev = excluded.rev
         WHERE excluded.rev > messages.rev`,
      )
      .bind(roomId, list, firstSeq);
  }

  /** Messages with lo <= seq <= hi from D1, ascending, with their quotes' sources. */
  async range(roomId: string, lo: number, hi: number): Promise<MessageWithQuote[]> {
    if (hi < lo) return [];
    const { results } = await this.d1
      .prepare(`${SELECT_MESSAGES} WHERE m.room_id = ? AND m.seq BETWEEN ? AND ? ORDER BY m.seq`)
      .bind(roomId, lo, hi)
      .all<MessageWithQuote>();
    return results;
  }

  /**
   * Runs a write to D1 rows the room does not hold, outside the flush. While it runs, and for any
   * read it overlapped, `byIdSettled` waits and reads again.
   */
  async bulk<T>(write: () => Promise<T>): Promise<T> {
    while (this.bulkRunning) await this.bulkRunning.catch(() => {});
    this.bulkCount++;
    const running = write();
    this.bulkRunning = running;
    try {
      return await running;
    } finally {
      if (this.bulkRunning === running) this.bulkRunning = null;
    }
  }

  /**
   * A row read for adoption (to change a message the room no longer holds). A row read while one
   * of the room's bulk writes was under way may predate it; adopting that would bring back what
   * the write changed (a tombstoned text), so such a read is done again.
   */
  async byIdSettled(roomId: string, id: string): Promise<MessageWithQuote | null> {
    for (;;) {
      while (this.bulkRunning) await this.bulkRunning.catch(() => {});
      const before = this.bulkCount;
      const row = await this.byId(roomId, id);
      if (before === this.bulkCount && this.bulkRunning === null) return row;
    }
  }

  /**
   * Erasure of rows only D1 has: up to `limit` live rows of the author with seq < `belowSeq` become
   * tombstones, as a delete makes them (text, quote, reactions and attachments gone), one revision
   * newer, so no flush of an older revision can bring them back. The search index follows by
   * trigger. Returns the tombstones.
   */
  async tombstoneAuthor(roomId: string, authorId: string, belowSeq: number, limit: number, deletedAt: string): Promise<Row[]> {
    const { results } = await this.d1
      .prepare(
        `UPDATE messages SET text = '', deleted_at = ?4, reactions = NULL, attachments = NULL, reply_to_id = NULL, rev = rev + 1
         WHERE rowid IN (
           SELECT rowid FROM messages WHERE author_id = ?2 AND room_id = ?1 AND deleted_at IS NULL AND seq < ?3 LIMIT ?5
         )
         RETURNING ${STORED_COLUMNS}`,
      )
      .bind(roomId, authorId, belowSeq, deletedAt, limit)
      .all<Row>();
    return results;
  }

  async byId(roomId: string, id: string): Promise<MessageWithQuote | null> {
    return this.d1
      .prepare(`${SELECT_MESSAGES} WHERE m.room_id = ? AND m.id = ?`)
      .bind(roomId, id)
      .first<MessageWithQuote>();
  }

  /** The rows these ids name in this room (the sources of quotes the room does not hold). */
  async byIds(roomId: string, ids: string[]): Promise<Row[]> {
    if (ids.length === 0) return [];
    const { results } = await this.d1
      .prepare(
        `SELECT ${STORED_COLUMNS}
         FROM messages WHERE room_id = ? AND id IN (SELECT value FROM json_each(?))`,
      )
      .bind(roomId, JSON.stringify(ids))
      .all<Row>();
    return results;
  }
}
