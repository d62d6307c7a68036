/**
 * Spam guards that belong to one room: the same text twice within 10 s, and slow mode. They
 * live in the room's own SQLite, so a room that hibernates or is evicted still remembers
 * them; they cost no round trip, unlike the per-user budgets in src/limits/.
 */
import type { Role } from "../db/schema";
import { fail, ok, type RoomResult } from "./parts";
import type { MessageStore } from "./store";

/** The same text from the same user within this window is refused as a duplicate. */
export const DUPLICATE_WINDOW_MS = 10_000;
export const MAX_SLOW_MODE_S = 120;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS recent_texts (user_id TEXT NOT NULL, text TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (user_id, text)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS recent_texts_at ON recent_texts (at);
CREATE TABLE IF NOT EXISTS last_sends (user_id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
`;

/** What counts as "the same text": case, Unicode forms and runs of spaces do not matter. */
export const normaliseText = (text: string) => text.normalize("NFKC").toLowerCase().replace(/\s+/gu, " ").trim();

export class Guards {
  private slowModeMs: number;
  private prunedAt = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly store: MessageStore,
  ) {
    sql.exec(SCHEMA);
    this.slowModeMs = Number(store.getMeta("slowModeSeconds") ?? 0) * 1000;
  }

  get slowModeSeconds(): number {
    return this.slowModeMs / 1000;
  }

  setSlowMode(seconds: number): void {
    this.store.setMeta("slowModeSeconds", String(seconds));
    this.slowModeMs = seconds * 1000;
  }

  /** Whether a send would pass, without remembering it: checked before the budget is spent. */
  check(userId: string, role: Role, text: string | null, now: number): RoomResult<null> {
    const slow = this.slowModeWait(userId, role, now);
    if (slow > 0) return slowModeRefusal(slow);
    if (text !== null && this.sentRecently(userId, text, now)) return duplicate();
    return ok(null);
  }

  /** Checks again and remembers the send; the caller appends without awaiting in between. */
  admit(userId: string, role: Role, text: string | null, now: number): RoomResult<null> {
    const checked = this.check(userId, role, text, now);
    if (!checked.ok) return checked;
    if (now - this.prunedAt >= 1000) {
      this.sql.exec("DELETE FROM recent_texts WHERE at <= ?", now - DUPLICATE_WINDOW_MS);
      this.prunedAt = now;
    }
    if (text !== null) {
      this.sql.exec("INSERT OR REPLACE INTO recent_texts (user_id, text, at) VALUES (?, ?, ?)", userId, text, now);
    }
    if (this.slowModeMs > 0 && !exempt(role)) {
      this.sql.exec("INSERT OR REPLACE INTO last_sends (user_id, at) VALUES (?, ?)", userId, now);
    }
    return ok(null);
  }

  private sentRecently(userId: string, text: string, now: number): boolean {
    const row = this.sql
      .exec<{ at: number }>("SELECT at FROM recent_texts WHERE user_id = ? AND text = ?", userId, text)
      .toArray()[0];
    return row !== undefined && now - row.at < DUPLICATE_WINDOW_MS;
  }

  /** Milliseconds until the user may send again under slow mode; 0 if now. */
  private slowModeWait(userId: string, role: Role, now: number): number {
    if (this.slowModeMs === 0 || exempt(role)) return 0;
    const row = this.sql.exec<{ at: number }>("SELECT at FROM last_sends WHERE user_id = ?", userId).toArray()[0];
    return row ? Math.max(0, row.at + this.slowModeMs - now) : 0;
  }
}

const exempt = (role: Role) => role === "admin" || role === "moderator";

const duplicate = () => fail("duplicate", "you sent the same text a moment ago");

function slowModeRefusal(waitMs: number) {
  const retryAfter = Math.ceil(waitMs / 1000);
  return fail("rate_limited", `slow mode: you may send again in ${retryAfter} s`, { retryAfter });
}
