/** Members' read positions in this room, kept locally and carried to D1 by the flush. */
const SCHEMA = `CREATE TABLE IF NOT EXISTS reads (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, flushed_seq INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;`;

export class ReadPositions {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  get(userId: string): number {
    return this.sql.exec<{ seq: number }>("SELECT seq FROM reads WHERE user_id = ?", userId).toArray()[0]?.seq ?? 0;
  }

  /** Moves the user's position forward (never back). Returns whether it moved. */
  advance(userId: string, seq: number): boolean {
    const cursor = this.sql.exec(
      "INSERT INTO reads (user_id, seq) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > reads.seq",
      userId,
      seq,
    );
    return cursor.rowsWritten > 0;
  }

  dirty(): { userId: string; seq: number }[] {
    return this.sql
      .exec<{ userId: string; seq: number }>("SELECT user_id AS userId, seq FROM reads WHERE seq > flushed_seq")
      .toArray();
  }

  markFlushed(reads: { userId: string; seq: number }[]): void {
    for (const r of reads) {
      this.sql.exec("UPDATE reads SET flushed_seq = max(flushed_seq, ?) WHERE user_id = ?", r.seq, r.userId);
    }
  }

  forget(userId: string): void {
    this.sql.exec("DELETE FROM reads WHERE user_id = ?", userId);
  }
}
