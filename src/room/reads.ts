/** Members' read positions in this room, kept locally and carried to D1 by the flush. */
const SCHEMA = `CREATE TABLE IF NOT EXISTS reads (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, flushed_seq INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;`;

export class ReadPositions {
  /**
   * Writing a message means having read up to it. Those positions are kept in memory until the
   * flush writes them (`settle`): the messages are their durable record, so a send costs no
   * extra write, and a room that restarts derives them again from the rows it flushes.
   */
  private readonly written = new Map<string, number>();

  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  get(userId: string): number {
    const stored = this.sql.exec<{ seq: number }>("SELECT seq FROM reads WHERE user_id = ?", userId).toArray()[0]?.seq ?? 0;
    return Math.max(stored, this.written.get(userId) ?? 0);
  }

  /** The user sent the message with this seq. */
  wrote(userId: string, seq: number): void {
    if ((this.written.get(userId) ?? 0) < seq) this.written.set(userId, seq);
  }

  /** Moves the user's position forward (never back). Returns whether it moved. */
  advance(userId: string, seq: number): boolean {
    if (seq <= (this.written.get(userId) ?? 0)) return false;
    return this.store(userId, seq);
  }

  /** Stores the positions implied by these messages, about to be flushed. */
  settle(rows: { author_id: string; seq: number }[]): void {
    const newest = new Map<string, number>();
    for (const r of rows) if ((newest.get(r.author_id) ?? 0) < r.seq) newest.set(r.author_id, r.seq);
    for (const [userId, seq] of newest) {
      this.store(userId, seq);
      if ((this.written.get(userId) ?? Infinity) <= seq) this.written.delete(userId);
    }
  }

  dirty(): { userId: string; seq: number }[] {
    return this.sql
      .exec<{ userId: string; seq: number }>("SELECT user_id AS userId, seq FROM reads WHERE seq > flushed_seq")
      .toArray();
  }

  markFlushed(reads: { userId: string; seq: number }[]): void {
    if (reads.length === 0) return;
    this.sql.exec(
      `UPDATE reads SET flushed_seq = max(flushed_seq, j.value ->> 1)
       FROM json_each(?) AS j WHERE reads.user_id = j.value ->> 0`,
      JSON.stringify(reads.map((r) => [r.userId, r.seq])),
    );
  }

  forget(userId: string): void {
    this.written.delete(userId);
    this.sql.exec("DELETE FROM reads WHERE user_id = ?", userId);
  }

  private store(userId: string, seq: number): boolean {
    const cursor = this.sql.exec(
      "INSERT INTO reads (user_id, seq) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > reads.seq",
      userId,
      seq,
    );
    return cursor.rowsWritten > 0;
  }
}
