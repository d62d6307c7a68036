/**
 * Every frame the room sends goes through here. Each frame is serialised once, however many
 * sockets get it, and a flush builds one payload for all the sockets that get the same frames,
 * so the work per socket is one send. In a quiet room frames leave at once (at the end of the
 * current turn, so an ack and its message share a send); when frames follow each other within
 * the coalescing window they are held briefly and leave as one `batch` frame per socket,
 * because in a large room the cost is the number of socket sends, not their size.
 */
import type { ServerFrame } from "../protocol";

/**
 * A socket this object does not hold itself (one a shard holds, src/shard/): frames for it are
 * handed to `forward` in queue order instead of being sent.
 */
export interface RemoteTarget {
  readonly shard: number;
  readonly id: string;
}

export type Target = WebSocket | RemoteTarget;

export const isRemote = (to: Target): to is RemoteTarget => typeof (to as RemoteTarget).shard === "number";

export interface Pending {
  /** One frame's JSON, or several frames' joined with commas (`count` says how many). */
  json: string;
  count: number;
  /** A frame for one socket, or null for the whole room. */
  to: Target | null;
  /** Whole-room frames only: the user whose sockets do not get it. */
  except?: string;
}

export interface OutboxOptions {
  /** The sockets a broadcast goes to, read when the frames leave. */
  sockets: () => WebSocket[];
  /** How many sockets there are (cheaper than building the array after a leave). */
  socketCount?: () => number;
  /** How long frames may wait to share a send, given the room's socket count. */
  windowMs?: (socketCount: number) => number;
  /** Whose socket this is (for frames that leave one user out). */
  userOf?: (ws: WebSocket) => string | undefined;
  /**
   * Receives, at each flush and in queue order, what sockets held elsewhere get: the whole-room
   * frames and the frames for remote targets. Called only while `forwarding()` says so.
   */
  forward?: (frames: Pending[]) => void;
  forwarding?: () => boolean;
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
  private queuedFrames = 0;
  private queuedBytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastFlushAt = 0;

  constructor(private readonly options: OutboxOptions) {}

  /** A frame for every socket, or every socket but those of the user `except`. */
  broadcast(frame: ServerFrame, except?: string): void {
    this.broadcastJson(JSON.stringify(frame), 1, except);
  }

  /** Frames serialised elsewhere (a shard passing on what its room sent), as `broadcast`. */
  broadcastJson(json: string, count: number, except?: string): void {
    this.enqueue({ json, count, to: null, ...(except !== undefined ? { except } : {}) });
  }

  /**
   * Many whole-room frames that belong together (a round of presence changes): they leave in
   * one send per socket, with whatever else is queued, in pieces of at most MAX_BATCH_BYTES.
   */
  broadcastAll(frames: ServerFrame[]): void {
    let group: string[] = [];
    let bytes = 0;
    const put = () => {
      if (group.length > 0) this.enqueue({ json: group.join(","), count: group.length, to: null });
      group = [];
      bytes = 0;
    };
    for (const frame of frames) {
      const json = JSON.stringify(frame);
      if (bytes + json.length > MAX_BATCH_BYTES) put();
      group.push(json);
      bytes += json.length + 1;
    }
    put();
  }

  sendTo(to: Target, frame: ServerFrame): void {
    this.enqueue({ json: JSON.stringify(frame), count: 1, to });
  }

  sendJsonTo(ws: WebSocket, json: string, count: number): void {
    this.enqueue({ json, count, to: ws });
  }

  /** Sends everything queued now. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    let queue = this.queue;
    if (queue.length === 0) return;
    this.queue = [];
    this.queuedFrames = 0;
    this.queuedBytes = 0;
    this.lastFlushAt = Date.now();

    let remote = false;
    for (const p of queue) if (p.to !== null && isRemote(p.to)) remote = true;
    if (this.options.forward && (remote || this.options.forwarding?.())) {
      const out = queue.filter((p) => p.to === null || isRemote(p.to));
      if (out.length > 0) this.options.forward(out);
    }
    if (remote) queue = queue.filter((p) => p.to === null || !isRemote(p.to));
    if (queue.length === 0) return;
    this.sendLocal(queue as LocalPending[]);
  }

  private sendLocal(queue: LocalPending[]): void {
    const userOf = this.options.userOf;
    const excluded = (p: LocalPending, ws: WebSocket) => p.except !== undefined && userOf?.(ws) === p.except;
    const roomFrames: LocalPending[] = [];
    const direct = new Set<WebSocket>();
    let except = false;
    for (const p of queue) {
      if (p.to !== null) direct.add(p.to);
      else if (p.except !== undefined) except = true;
      else roomFrames.push(p);
    }
    // Frames for single sockets only (a welcome, an ack): no need to visit the whole room.
    if (roomFrames.length === 0 && !except) {
      const bySocket = new Map<WebSocket, LocalPending[]>();
      for (const p of queue) {
        const frames = bySocket.get(p.to!);
        if (frames) frames.push(p);
        else bySocket.set(p.to!, [p]);
      }
      for (const [ws, frames] of bySocket) safeSend(ws, pack(frames));
      return;
    }
    const sockets = this.options.sockets();
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
      for (const p of queue) key += (p.to !== null ? p.to === ws : inRoom && !excluded(p, ws)) ? "1" : "0";
      let payload = cache.get(key);
      if (payload === undefined) {
        const frames = queue.filter((_, i) => key.charCodeAt(i) === 49);
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
    const count = this.options.socketCount?.() ?? this.options.sockets().length;
    return Math.min(MAX_WINDOW_MS, (this.options.windowMs ?? defaultWindowMs)(count));
  }

  private enqueue(p: Pending): void {
    this.queue.push(p);
    this.queuedFrames += p.count;
    this.queuedBytes += p.json.length;
    if (this.queuedFrames >= MAX_BATCH_FRAMES || this.queuedBytes >= MAX_BATCH_BYTES) return this.flush();
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastFlushAt + this.windowMs() - Date.now());
    // Even with no wait, leave at the end of this turn, so the rest of it (ack + message +
    // typing-off) shares the send.
    this.timer = setTimeout(() => this.flush(), wait);
  }
}

/** What is left to send here once remote targets are handed on. */
type LocalPending = Pending & { to: WebSocket | null };

function pack(frames: Pending[]): string {
  if (frames.length === 1 && frames[0]!.count === 1) return frames[0]!.json;
  return `{"type":"batch","frames":[${frames.map((p) => p.json).join(",")}]}`;
}

function safeSend(ws: WebSocket, payload: string): void {
  try {
    ws.send(payload);
  } catch {
    // The socket closed under us; its close handler cleans up.
  }
}
