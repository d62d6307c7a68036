/**
 * Turns everything a room socket hears (the welcome's `recent`, live `message` frames, `sync`
 * answers), across any number of reconnects, into one stream: each message once, in seq order,
 * with no gaps. What arrives early waits for what is missing, and a `sync` from the last
 * delivered seq fills the gap; after a reconnect the same `sync` catches up on what was sent
 * while the socket was down.
 */
import type { Message, ServerFrame } from "../protocol";

type Welcome = Extract<ServerFrame, { type: "welcome" }>;
type Sync = Extract<ServerFrame, { type: "sync" }>;

export class Sequencer {
  /** Highest seq delivered with nothing missing below it; null until the first welcome. */
  lastSeq: number | null = null;
  private readonly ahead = new Map<number, Message>();
  private syncing = false;

  constructor(
    private readonly deliver: (message: Message) => void,
    /** Asks the server for every message after `after` (a `sync` frame). */
    private readonly requestSync: (after: number) => void,
  ) {}

  welcome(frame: Welcome): void {
    const reconnect = this.lastSeq !== null;
    // First contact: `recent` is the starting point; older history is the REST API's job.
    this.lastSeq ??= (frame.recent[0]?.seq ?? frame.lastSeq + 1) - 1;
    this.ingest(frame.recent);
    // After a reconnect, catch up on whatever was sent while we were away.
    if (!this.syncing && (reconnect || frame.lastSeq > this.lastSeq)) this.sync();
  }

  /** A sync in flight died with the socket; the next welcome asks again. */
  socketClosed(): void {
    this.syncing = false;
  }

  synced(frame: Sync): void {
    this.ingest(frame.messages);
    const last = frame.messages.at(-1);
    if (frame.more && last) return this.sync(last.seq);
    this.syncing = false;
    // The server had nothing to fill the gap with: it is a real hole (history expired), so stop
    // waiting for it rather than hold back everything after it.
    const lowest = Math.min(...this.ahead.keys());
    if (this.lastSeq !== null && Number.isFinite(lowest)) {
      this.lastSeq = lowest - 1;
      this.drain();
    }
  }

  /** Drops what was already delivered, holds what arrives early, delivers in order. */
  ingest(messages: Message[]): void {
    for (const m of messages) {
      if ((this.lastSeq !== null && m.seq <= this.lastSeq) || this.ahead.has(m.seq)) continue;
      this.ahead.set(m.seq, m);
    }
    this.drain();
    if (this.ahead.size > 0 && !this.syncing) this.sync();
  }

  private sync(after = this.lastSeq): void {
    if (after === null) return;
    this.syncing = true;
    this.requestSync(after);
  }

  private drain(): void {
    if (this.lastSeq === null) return;
    for (let m = this.ahead.get(this.lastSeq + 1); m; m = this.ahead.get(this.lastSeq + 1)) {
      this.ahead.delete(m.seq);
      this.lastSeq = m.seq;
      this.deliver(m);
    }
  }
}
