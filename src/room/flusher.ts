/**
 * Copies the room's new and changed rows to D1 on an alarm. A failed flush marks nothing,
 * so the next attempt writes the same rows again (upserts make that harmless). Failures are
 * retried by the platform first; once its retries are spent, the room schedules its own.
 */
import { log } from "../lib/log";
import type { Archive } from "./archive";
import type { ReadPositions } from "./reads";
import type { MessageStore } from "./store";

/** The platform retries a throwing alarm up to six times; we take over before the last. */
const PLATFORM_RETRIES = 5;
const SELF_RETRY_MS = 30_000;
/** Read positions reach D1 at most once per this many ms per room (see `pushReads`). */
export const READ_PUSH_GAP_MS = 100;

export interface FlusherOptions {
  intervalMs: number;
  batchRows: number;
  retainLocal: number;
}

/** Work the alarm does after the flush (the event outbox): retried with it when it throws. */
export interface AfterFlush {
  pending(): boolean;
  run(roomId: string): Promise<void>;
  /** Rows above this seq must stay in the room until `run` has handled them. */
  keepAbove(): number;
}

export class Flusher {
  /** Whether an alarm is set; kept in memory so sends do not read storage to find out. */
  private scheduled = false;
  /** The D1 write of read positions under way, and the one queued behind it. */
  private readsInFlight: Promise<void> | null = null;
  private readsQueued: Promise<void> | null = null;
  private lastReadPushAt = 0;
  /** Flush writes to D1 under way (an alarm's, an erasure's). */
  private readonly writes = new Set<Promise<unknown>>();
  private after: AfterFlush | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly store: MessageStore,
    private readonly archive: Archive,
    private readonly reads: ReadPositions,
    private readonly options: FlusherOptions,
  ) {}

  /** Sets the work each alarm does after its flush. */
  then(after: AfterFlush): void {
    this.after = after;
  }

  /** Called once on start: make sure rows left dirty by an earlier life get flushed. */
  async init(): Promise<void> {
    this.scheduled = (await this.storage.getAlarm()) !== null;
    if (!this.scheduled && this.pending()) this.schedule();
  }

  /** After a write: flush within the interval unless a flush is already due. */
  schedule(delayMs = this.options.intervalMs): void {
    if (this.scheduled) return;
    this.scheduled = true;
    void this.storage.setAlarm(Date.now() + delayMs);
  }

  private pending(): boolean {
    return this.store.hasDirty() || this.reads.dirty().length > 0 || this.after?.pending() === true;
  }

  /** Writes one batch of messages, with every pending read position. Returns the message count. */
  async flushOnce(roomId: string): Promise<number> {
    const rows = this.store.dirty(this.options.batchRows);
    this.reads.settle(rows);
    const reads = this.reads.dirty();
    if (rows.length === 0 && reads.length === 0) return 0;
    const write = this.archive.write(roomId, rows, reads, this.store.firstSeq);
    this.writes.add(write);
    try {
      await write;
    } finally {
      this.writes.delete(write);
    }
    this.store.markFlushed(rows);
    this.reads.markFlushed(reads);
    return rows.length;
  }

  /** Resolves once no flush write that started before this call is under way. */
  async idle(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }

  /**
   * Writes pending read positions to D1 soon, without waiting for the alarm: the room list's
   * unread counts follow a read at once. A read in a quiet room is written at once; reads that
   * arrive while a write is under way, or within `READ_PUSH_GAP_MS` of its start, all share the
   * next one, so a room costs at most one such D1 write per gap however many members read.
   * Never throws: a failed write leaves the positions to the alarm's flush.
   */
  pushReads(roomId: string): Promise<void> {
    if (this.readsQueued) return this.readsQueued;
    const wait = this.lastReadPushAt + READ_PUSH_GAP_MS - Date.now();
    if (!this.readsInFlight && wait <= 0) return this.startReads(roomId);
    const queued = (async () => {
      await this.readsInFlight;
      const rest = this.lastReadPushAt + READ_PUSH_GAP_MS - Date.now();
      if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
      this.readsQueued = null;
      return this.startReads(roomId);
    })();
    this.readsQueued = queued;
    return queued;
  }

  private startReads(roomId: string): Promise<void> {
    this.lastReadPushAt = Date.now();
    const write = (async () => {
      const reads = this.reads.dirty();
      if (reads.length === 0) return;
      try {
        await this.archive.writeReads(roomId, reads);
        this.reads.markFlushed(reads);
      } catch (err) {
        log.error({ msg: "writing read positions failed; the next flush carries them", roomId, error: err });
        this.schedule();
      }
    })();
    this.readsInFlight = write;
    void write.then(() => {
      if (this.readsInFlight === write) this.readsInFlight = null;
    });
    return write;
  }

  async onAlarm(roomId: string | null, retryCount: number): Promise<void> {
    this.scheduled = false;
    if (roomId === null) return;
    try {
      await this.flushOnce(roomId);
      await this.after?.run(roomId);
      this.store.prune(this.options.retainLocal, Date.now(), this.after?.keepAbove());
    } catch (err) {
      if (retryCount < PLATFORM_RETRIES) {
        this.scheduled = true; // the platform's retry is pending; sends must not move it
        throw err;
      }
      log.error({ msg: `flush failed after platform retries, retrying in ${SELF_RETRY_MS} ms`, roomId, retryCount, error: err });
      this.schedule(SELF_RETRY_MS);
      return;
    }
    if (this.pending()) this.schedule(0);
  }
}
