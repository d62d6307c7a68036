/**
 * Every frame the room sends goes through here. Each frame is serialised once, however many
 * sockets get it, and a flush builds one payload for all the sockets that get the same frames,
 * so the work per socket is one send. In a quiet room frames leave at once (at the end of the
 * current turn, so an ack and its message share a send); when frames follow each other within
 * the coalescing window they are held briefly and leave as one `batch` frame per socket,
 * because in a large room the cost is the number of socket sends, not their size.
 */
import type { ServerFrame } from "../protocol";

interface Pending {
  json: string;
  /** A frame for one socket, or null for the whole room. */
  to: WebSocket | null;
  /** Whole-room frames only: sockets that do not get it. */
  except?: (ws: WebSocket) => boolean;
}

export interface OutboxOptions {
  /** The sockets a broadcast goes to, read when the frames leave. */
  sockets: () => WebSocket[];
  /** How long frames may wait to share a send, given the room's socket count. */
  windowMs?: (socketCount: number) => number;
}

/**
 * How long frames may wait after a flush to share the next one. A flush costs one send per
 * socket (about 30 µs each in workerd), so the window grows with the room: 1 ms per 50 sockets,
 * at most 40 ms. Rooms under 20 sockets wait at most 1 ms: their cost is mostly per message
 * (storage), but at hundreds of messages a second even they save a send per socket by pairing
 * frames. Frames further apart than the window leave at once, so a quiet room never waits.
 * Under load the window stretches by itself: while the room is busy its flush timer fires
 * late, and everything queued by then shares the send.
 */
export const defaultWindowMs = (sockets: number) =>
  sockets < 2 ? 0 : sockets < 20 ? 1 : Math.min(40, Math.ceil(sockets / 50));

/** Rooms whose window is at most this (under about 50 sockets) flush from the handler. */
export const HANDLER_FLUSH_MAX_WINDOW_MS = 1;

/** The longest any window may be, whatever `windowMs` says. */
export const MAX_WINDOW_MS = 40;

/**
 * A queue this long (frames, or bytes of JSON) leaves at once instead of waiting for its
 * timer. An overloaded room may not get to its timers while a flood of frames keeps it busy;
 * this keeps its batches (and what each socket has to swallow at once) bounded.
 */
export const MAX_BATCH_FRAMES = 200;
export const MAX_BATCH_BYTES = 256 * 1024;

export class Outbox {
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastFlushAt = 0;

  constructor(private readonly options: OutboxOptions) {}

  broadcast(frame: ServerFrame, except?: (ws: WebSocket) => boolean): void {
    this.enqueue({ json: JSON.stringify(frame), to: null, except });
  }

  sendTo(ws: WebSocket, frame: ServerFrame): void {
    this.enqueue({ json: JSON.stringify(frame), to: ws });
  }

  /** Sends everything queued now. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const queue = this.queue;
    if (queue.length === 0) return;
    this.queue = [];
    this.queuedBytes = 0;
    this.lastFlushAt = Date.now();
    const sockets = this.options.sockets();

    const roomFrames: string[] = [];
    const direct = new Set<WebSocket>();
    let except = false;
    for (const p of queue) {
      if (p.to !== null) direct.add(p.to);
      else if (p.except) except = true;
      else roomFrames.push(p.json);
    }
    // The common case: whole-room frames only, one payload for every socket.
    if (direct.size === 0 && !except) {
      const payload = pack(roomFrames);
      for (const ws of sockets) safeSend(ws, payload);
      return;
    }

    // Otherwise the sockets that get exactly the whole-room frames share one payload, and the
    // rest (a socket with frames of its own, or any socket while an exception applies) get
    // theirs built once per distinct set of frames.
    const shared = roomFrames.length > 0 ? pack(roomFrames) : null;
    const cache = new Map<string, string | null>();
    const payloadFor = (ws: WebSocket, inRoom: boolean): string | null => {
      let key = "";
      for (const p of queue) key += (p.to !== null ? p.to === ws : inRoom && !p.except?.(ws)) ? "1" : "0";
      let payload = cache.get(key);
      if (payload === undefined) {
        const frames = queue.filter((_, i) => key.charCodeAt(i) === 49).map((p) => p.json);
        payload = frames.length > 0 ? pack(frames) : null;
        cache.set(key, payload);
      }
      return payload;
    };
    for (const ws of sockets) {
      const payload = except || direct.has(ws) ? payloadFor(ws, true) : shared;
      direct.delete(ws);
      if (payload !== null) safeSend(ws, payload);
    }
    // Frames for sockets that are not (or no longer) in the room.
    for (const ws of direct) {
      const payload = payloadFor(ws, false);
      if (payload !== null) safeSend(ws, payload);
    }
  }

  /**
   * Sends the queue now if the room is small and its window has passed. A handler calls this
   * when it is done, so a small room's frames leave with the handler instead of on a timer (the
   * timer is one more event for the runtime, as costly as the flush itself in a room of ten).
   * Larger rooms keep the timer: a busy room's timer fires late, and everything queued by then
   * shares the send, which is what keeps a saturated room's batches growing. (Measured at 50×500:
   * flushing from the handler cut messages per frame from ~3.8 to ~2.5 and the top rate by half.)
   */
  flushIfDue(): void {
    if (this.queue.length === 0) return;
    const window = this.windowMs();
    if (window <= HANDLER_FLUSH_MAX_WINDOW_MS && Date.now() >= this.lastFlushAt + window) this.flush();
  }

  private windowMs(): number {
    return Math.min(MAX_WINDOW_MS, (this.options.windowMs ?? defaultWindowMs)(this.options.sockets().length));
  }

  private enqueue(p: Pending): void {
    this.queue.push(p);
    this.queuedBytes += p.json.length;
    if (this.queue.length >= MAX_BATCH_FRAMES || this.queuedBytes >= MAX_BATCH_BYTES) return this.flush();
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastFlushAt + this.windowMs() - Date.now());
    // Even with no wait, leave at the end of this turn, so the rest of it (ack + message +
    // typing-off) shares the send.
    this.timer = setTimeout(() => this.flush(), wait);
  }
}

function pack(frames: string[]): string {
  return frames.length === 1 ? frames[0]! : `{"type":"batch","frames":[${frames.join(",")}]}`;
}

function safeSend(ws: WebSocket, payload: string): void {
  try {
    ws.send(payload);
  } catch {
    // The socket closed under us; its close handler cleans up.
  }
}
