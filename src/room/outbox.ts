/**
 * Every frame the room sends goes through here. Each frame is serialised once, however many
 * sockets get it. In a quiet room frames leave at once; when frames follow each other within
 * the coalescing window they are held briefly and leave as one `batch` frame per socket,
 * because in a large room the cost is the number of socket sends, not their size.
 */
import type { ServerFrame } from "../protocol";

type Target = { all: true; except?: (ws: WebSocket) => boolean } | { all: false; to: WebSocket };

interface Pending {
  json: string;
  target: Target;
}

export interface OutboxOptions {
  /** The sockets a broadcast goes to, read when the frames leave. */
  sockets: () => WebSocket[];
  /** How long frames may wait to share a send, given the room's socket count. */
  windowMs?: (socketCount: number) => number;
}

/** Small rooms never wait; large ones wait up to 40 ms so one send carries many frames. */
export const defaultWindowMs = (sockets: number) => (sockets < 20 ? 0 : Math.min(40, Math.ceil(sockets / 50)));

export class Outbox {
  private queue: Pending[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastFlushAt = 0;

  constructor(private readonly options: OutboxOptions) {}

  broadcast(frame: ServerFrame, except?: (ws: WebSocket) => boolean): void {
    this.enqueue({ json: JSON.stringify(frame), target: { all: true, except } });
  }

  sendTo(ws: WebSocket, frame: ServerFrame): void {
    this.enqueue({ json: JSON.stringify(frame), target: { all: false, to: ws } });
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
    this.lastFlushAt = Date.now();

    const sockets = this.options.sockets();
    const direct = queue.filter((p) => !p.target.all);
    // The common case: only whole-room frames with no exceptions, one string for every socket.
    const shared = direct.length === 0 && queue.every((p) => p.target.all && !p.target.except);
    if (shared) {
      const payload = pack(queue.map((p) => p.json));
      for (const ws of sockets) safeSend(ws, payload);
      return;
    }
    const cache = new Map<string, string>();
    const inRoom = new Set(sockets);
    const targets = new Set(sockets);
    for (const p of direct) if (!p.target.all) targets.add(p.target.to);
    for (const ws of targets) {
      const mine: number[] = [];
      queue.forEach((p, i) => {
        if (p.target.all ? inRoom.has(ws) && !p.target.except?.(ws) : p.target.to === ws) mine.push(i);
      });
      if (mine.length === 0) continue;
      const key = mine.join(",");
      let payload = cache.get(key);
      if (payload === undefined) {
        payload = pack(mine.map((i) => queue[i]!.json));
        cache.set(key, payload);
      }
      safeSend(ws, payload);
    }
  }

  private enqueue(p: Pending): void {
    this.queue.push(p);
    if (this.timer !== null) return;
    const window = (this.options.windowMs ?? defaultWindowMs)(this.options.sockets().length);
    const wait = this.lastFlushAt + window - Date.now();
    if (window === 0 || wait <= 0) {
      // Let the rest of this turn add its frames (ack + message + typing-off) to the same send.
      this.timer = setTimeout(() => this.flush(), 0);
    } else {
      this.timer = setTimeout(() => this.flush(), wait);
    }
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
