/**
 * Unread counts for members with a device connected (src/user/unread.ts asks the room to
 * report to them). A message or a read marks those watchers whose count changed; the reports
 * leave together after `reportDelay`, one call per watcher however many messages arrived, and
 * nothing at all is done for members without a device. The watchers are stored, so a room that
 * hibernates or restarts keeps reporting.
 */
import type { Bindings } from "../env";
import { log } from "../lib/log";
import { userStub } from "../user/User";
import type { ReadPositions } from "./reads";
import type { MessageStore } from "./store";

/**
 * How long reports wait to share a call: a busy room reports at most this often per watcher.
 * The wait grows with the watchers (a call each): 500 ms for a few, 4.5 s for 1,000, at most
 * 10 s, so a large room spends a bounded share of its time on counts, not on every message.
 */
export const REPORT_MS = 500;
export const REPORT_MS_PER_WATCHER = 4;
export const MAX_REPORT_MS = 10_000;
export const reportDelay = (watchers: number) => Math.min(REPORT_MS + REPORT_MS_PER_WATCHER * watchers, MAX_REPORT_MS);

const SCHEMA = `CREATE TABLE IF NOT EXISTS unread_watchers (user_id TEXT PRIMARY KEY) WITHOUT ROWID;`;

export class UnreadReports {
  private readonly watchers = new Set<string>();
  private readonly due = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Bindings,
    private readonly store: MessageStore,
    private readonly reads: ReadPositions,
  ) {
    ctx.storage.sql.exec(SCHEMA);
    for (const r of ctx.storage.sql.exec<{ user_id: string }>("SELECT user_id FROM unread_watchers")) this.watchers.add(r.user_id);
  }

  watch(userId: string, on: boolean): void {
    if (on && !this.watchers.has(userId)) {
      this.watchers.add(userId);
      this.ctx.storage.sql.exec("INSERT OR IGNORE INTO unread_watchers (user_id) VALUES (?)", userId);
    } else if (!on && this.watchers.delete(userId)) {
      this.ctx.storage.sql.exec("DELETE FROM unread_watchers WHERE user_id = ?", userId);
      this.due.delete(userId);
    }
  }

  /** Reports a watcher's current count soon, as a change would. */
  reportTo(roomId: string, userId: string): void {
    if (!this.watchers.has(userId)) return;
    this.due.add(userId);
    this.schedule(roomId);
  }

  /** A message arrived: every watcher but its author has one more unread. */
  messaged(roomId: string, authorId: string): void {
    if (this.watchers.size === 0) return;
    for (const userId of this.watchers) if (userId !== authorId) this.due.add(userId);
    this.schedule(roomId);
  }

  /** The user's read position moved. */
  read(roomId: string, userId: string): void {
    if (!this.watchers.has(userId)) return;
    this.due.add(userId);
    this.schedule(roomId);
  }

  private schedule(roomId: string): void {
    if (this.timer !== null || this.due.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.ctx.waitUntil(this.report(roomId));
    }, reportDelay(this.watchers.size));
  }

  private async report(roomId: string): Promise<void> {
    const users = [...this.due];
    this.due.clear();
    const last = this.store.lastSeq;
    await Promise.all(
      users.map(async (userId) => {
        const count = Math.max(last - this.reads.get(userId), 0);
        try {
          const listening = await userStub(this.env, userId).unread(userId, roomId, count);
          if (!listening) this.watch(userId, false);
        } catch (error) {
          log.warn({ msg: "unread report failed", userId, error });
        }
      }),
    );
  }
}
