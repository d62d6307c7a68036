/**
 * Notifications this user's devices were given, by id: the queue may hand the same
 * notification over again (a retried batch), and a device must see it once.
 */
const SCHEMA = `CREATE TABLE IF NOT EXISTS delivered (id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;`;
/** Redeliveries come within the queue's retry window (minutes); a week is plenty. */
const KEEP_MS = 7 * 24 * 3600_000;

export class Delivered {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  clear(): void {
    this.sql.exec("DELETE FROM delivered");
  }

  /** True the first time this id is seen. */
  first(id: string, now = Date.now()): boolean {
    const inserted = this.sql.exec("INSERT OR IGNORE INTO delivered (id, at) VALUES (?, ?)", id, now).rowsWritten > 0;
    if (inserted && Math.random() < 0.01) this.sql.exec("DELETE FROM delivered WHERE at < ?", now - KEEP_MS);
    return inserted;
  }
}
