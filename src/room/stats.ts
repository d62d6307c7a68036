/**
 * The room's report to the Stats object (src/admin/stats.ts): open sockets, users typing, the
 * newest message's time and who is online. Nothing here runs on the send path: a change only
 * notes that a report is due, and a timer sends one at most every `REPORT_GAP_MS` (after
 * `COALESCE_MS`, so a burst of joins makes one report). One report is in flight at a time.
 *
 * Online users go as ids so the totals can count a user in two rooms once; after the first
 * report of this object's life only who came and went is sent, so a 3,000-socket room sends
 * its full list once (about 60 KB of ids), then small deltas. If the Stats object refuses a
 * delta, or a report fails, the next one carries the full list again.
 */
import type { RoomReport } from "../admin/stats";
import { log } from "../lib/log";

/** At most one report per this many ms. */
export const REPORT_GAP_MS = 5_000;
/** A quiet room's first change waits this long, so changes arriving together share a report. */
export const COALESCE_MS = 200;

export interface StatsSource {
  roomId(): string | null;
  sockets(): number;
  onlineUserIds(): string[];
  typing(): number;
}

export class StatsReporter {
  private readonly epoch = crypto.randomUUID();
  private version = 0;
  /** The online users the Stats object holds for this room; null: unknown, send them all. */
  private reported: Set<string> | null = null;
  private lastMessageAt: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private sending: Promise<void> | null = null;
  private due = false;
  private lastSentAt = 0;

  constructor(
    private readonly source: StatsSource,
    private readonly send: (report: RoomReport) => Promise<{ resync: boolean }>,
  ) {}

  /** A message was stored: the room is active. */
  messaged(createdAt: string): void {
    this.lastMessageAt = createdAt;
    this.changed();
  }

  /** Something counted changed (a socket, typing); a report goes out within the gap. */
  changed(): void {
    this.due = true;
    if (this.timer !== null || this.sending !== null) return;
    const delay = Math.max(COALESCE_MS, this.lastSentAt + REPORT_GAP_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.reportNow();
    }, delay);
  }

  /** Sends a report of the state now (the timer's job; tests call it to skip the wait). */
  async reportNow(): Promise<void> {
    // One in flight at a time: a report already leaving may predate the state to report.
    while (this.sending !== null) await this.sending;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const roomId = this.source.roomId();
    if (roomId === null) return;
    this.due = false;
    const report = this.next(roomId);
    this.lastSentAt = Date.now();
    // Through a promise even if sending throws at once (a missing binding), so nothing escapes.
    const sending = Promise.resolve()
      .then(() => this.send(report))
      .then(
        ({ resync }) => {
          if (resync) this.forget();
        },
        (err: unknown) => {
          log.error({ msg: "stats report failed; the next one carries everything", roomId, err });
          this.forget();
        },
      );
    this.sending = sending.finally(() => {
      this.sending = null;
      if (this.due) this.changed();
    });
    return this.sending;
  }

  /** The full report, for the Stats object's check of a row it has not heard about for a while. */
  snapshot(): RoomReport | null {
    const roomId = this.source.roomId();
    if (roomId === null) return null;
    this.reported = null;
    return this.next(roomId);
  }

  /** The next report; what it says about online users is taken as what the Stats object holds. */
  private next(roomId: string): RoomReport {
    const now = new Set(this.source.onlineUserIds());
    let online: RoomReport["online"];
    if (this.reported === null) {
      online = { full: [...now] };
    } else {
      const before = this.reported;
      online = { added: [...now].filter((u) => !before.has(u)), removed: [...before].filter((u) => !now.has(u)) };
    }
    this.reported = now;
    return {
      roomId,
      epoch: this.epoch,
      version: ++this.version,
      sockets: this.source.sockets(),
      typing: this.source.typing(),
      lastMessageAt: this.lastMessageAt,
      online,
    };
  }

  private forget(): void {
    this.reported = null;
    this.due = true;
  }
}
