/**
 * Members' read positions in this room (and, in direct rooms, how far each has been delivered),
 * kept locally and carried to D1 by the flush. Positions are per user, never per message: a
 * message's `readBy` is the number of other members whose position has reached it, so a room
 * of 5,000 members stores and sends nothing per message for receipts.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS reads (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, flushed_seq INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
`;

export class ReadPositions {
  /** Stored positions, mirrored in memory: every message read counts them. */
  private readonly stored = new Map<string, number>();
  /**
   * Writing a message means having read up to it. Those positions are kept in memory until the
   * flush writes them (`settle`): the messages are their durable record, so a send costs no
   * extra write, and a room that restarts derives them again from the rows it flushes.
   */
  private readonly written = new Map<string, number>();
  private readonly delivered = new Map<string, number>();
  /** Every member's position, ascending; rebuilt only when a position moved and someone counts. */
  private sorted: number[] | null = null;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
    for (const r of sql.exec<{ user_id: string; seq: number }>("SELECT user_id, seq FROM reads")) this.stored.set(r.user_id, r.seq);
    for (const r of sql.exec<{ user_id: string; seq: number }>("SELECT user_id, seq FROM deliveries")) this.delivered.set(r.user_id, r.seq);
  }

  get(userId: string): number {
    return Math.max(this.stored.get(userId) ?? 0, this.written.get(userId) ?? 0);
  }

  /** The user sent the message with this seq. */
  wrote(userId: string, seq: number): void {
    if ((this.written.get(userId) ?? 0) < seq) {
      this.written.set(userId, seq);
      this.sorted = null;
    }
  }

  /** Moves the user's position forward (never back). Returns whether it moved. */
  advance(userId: string, seq: number): boolean {
    if (seq <= this.get(userId)) return false;
    return this.store(userId, seq);
  }

  /** How many users other than the author have read up to `seq`. */
  readBy(seq: number, authorId: string): number {
    const sorted = (this.sorted ??= this.positions());
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return sorted.length - lo - (this.get(authorId) >= seq ? 1 : 0);
  }

  /** The users other than the author who have read up to `seq`. */
  readers(seq: number, authorId: string): string[] {
    return this.userIds().filter((id) => id !== authorId && this.get(id) >= seq);
  }

  /** The highest seq that reached a socket of this user. */
  deliveredTo(userId: string): number {
    return Math.max(this.delivered.get(userId) ?? 0, this.get(userId));
  }

  /** Records that messages up to `seq` reached one of the user's sockets. Returns whether it moved. */
  deliver(userId: string, seq: number): boolean {
    if (seq <= (this.delivered.get(userId) ?? 0)) return false;
    this.sql.exec(
      "INSERT INTO deliveries (user_id, seq) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET seq = max(seq, excluded.seq)",
      userId,
      seq,
    );
    this.delivered.set(userId, seq);
    return true;
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
    this.stored.delete(userId);
    this.delivered.delete(userId);
    this.sorted = null;
    this.sql.exec("DELETE FROM reads WHERE user_id = ?", userId);
    this.sql.exec("DELETE FROM deliveries WHERE user_id = ?", userId);
  }

  private positions(): number[] {
    return this.userIds()
      .map((id) => this.get(id))
      .sort((a, b) => a - b);
  }

  /** Everyone with a position, stored or implied by a message they sent. */
  private userIds(): string[] {
    return [...new Set([...this.stored.keys(), ...this.written.keys()])];
  }

  private store(userId: string, seq: number): boolean {
    const cursor = this.sql.exec(
      "INSERT INTO reads (user_id, seq) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > reads.seq",
      userId,
      seq,
    );
    if (cursor.rowsWritten === 0) return false;
    this.stored.set(userId, seq);
    this.sorted = null;
    return true;
  }
}
