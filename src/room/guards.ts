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

/**
 * Each remembered send keeps its clientId: the guard and the message are not written in one
 * transaction, so after a crash between them the client's resend (same clientId) would be
 * refused by its own lost attempt. The tables before clientIds (recent_texts, last_sends) go:
 * they hold at most seconds of memory.
 */
const SCHEMA = `
DROP TABLE IF EXISTS recent_texts;
DROP TABLE IF EXISTS last_sends;
CREATE TABLE IF NOT EXISTS recent_sends (user_id TEXT NOT NULL, text TEXT NOT NULL, at INTEGER NOT NULL, client_id TEXT NOT NULL, PRIMARY KEY (user_id, text)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS recent_sends_at ON recent_sends (at);
CREATE TABLE IF NOT EXISTS slow_sends (user_id TEXT PRIMARY KEY, at INTEGER NOT NULL, client_id TEXT NOT NULL) WITHOUT ROWID;
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
  check(userId: string, role: Role, text: string | null, now: number, clientId: string): RoomResult<null> {
    const slow = this.slowModeWait(userId, role, now, clientId);
    if (slow > 0) return slowModeRefusal(slow);
    if (text !== null && this.sentRecently(userId, text, now, clientId)) return duplicate();
    return ok(null);
  }

  /** Checks again and remembers the send; the caller appends without awaiting in between. */
  admit(userId: string, role: Role, text: string | null, now: number, clientId: string): RoomResult<null> {
    const checked = this.check(userId, role, text, now, clientId);
    if (!checked.ok) return checked;
    if (now - this.prunedAt >= 1000) {
      this.sql.exec("DELETE FROM recent_sends WHERE at <= ?", now - DUPLICATE_WINDOW_MS);
      this.prunedAt = now;
    }
    if (text !== null) {
      this.sql.exec("INSERT OR REPLACE INTO recent_sends (user_id, text, at, client_id) VALUES (?, ?, ?, ?)", userId, text, now, clientId);
    }
    if (this.slowModeMs > 0 && !exempt(role)) {
      this.sql.exec("INSERT OR REPLACE INTO slow_sends (user_id, at, client_id) VALUES (?, ?, ?)", userId, now, clientId);
    }
    return ok(null);
  }

  /** The same text within the window, from another send than this one (a resend is not its own duplicate). */
  private sentRecently(userId: string, text: string, now: number, clientId: string): boolean {
    const row = this.sql
      .exec<{ at: number; client_id: string }>("SELECT at, client_id FROM recent_sends WHERE user_id = ? AND text = ?", userId, text)
      .toArray()[0];
    return row !== undefined && row.client_id !== clientId && now - row.at < DUPLICATE_WINDOW_MS;
  }

  /** Milliseconds until the user may send again under slow mode; 0 if now. */
  private slowModeWait(userId: string, role: Role, now: number, clientId: string): number {
    if (this.slowModeMs === 0 || exempt(role)) return 0;
    const row = this.sql.exec<{ at: number; client_id: string }>("SELECT at, client_id FROM slow_sends WHERE user_id = ?", userId).toArray()[0];
    return row && row.client_id !== clientId ? Math.max(0, row.at + this.slowModeMs - now) : 0;
  }
}

const exempt = (role: Role) => role === "admin" || role === "moderator";

const duplicate = () => fail("duplicate", "you sent the same text a moment ago");

function slowModeRefusal(waitMs: number) {
  const retryAfter = Math.ceil(waitMs / 1000);
  return fail("rate_limited", `slow mode: you may send again in ${retryAfter} s`, { retryAfter });
}
