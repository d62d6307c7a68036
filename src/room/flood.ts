/**
 * The per-socket frame budget: every frame but `ping` counts. The first frame over it is
 * answered with `rate_limited`; a socket that keeps sending past `GRACE` more is closed with
 * 1008. Counted in memory: a room hibernates only after all its sockets fell quiet, and a
 * quiet socket has nothing left to count.
 */
import type { Rate } from "../config";
import type { ServerFrame } from "../protocol";
import { advance, hit, retryAfterS, type Counts } from "../limits/sliding";
import { log } from "../lib/log";

/** Frames a socket may send after being told, before it is closed: frames already in flight. */
export const GRACE = 10;

export type Verdict = { kind: "ok" } | { kind: "refuse"; retryAfter: number } | { kind: "drop" } | { kind: "close" };

/** How the object holding a socket (a room or a shard) tells it, and closes it, when its budget says so. */
export interface BudgetActions {
  tell: (frame: ServerFrame) => void;
  /** Closes the socket with 1008 and counts it out. */
  close: () => void;
}

interface State {
  counts: Counts;
  /** Frames refused since the socket was told; -1 while it is within budget. */
  strikes: number;
}

export class FrameBudget {
  private readonly bySocket = new WeakMap<WebSocket, State>();

  constructor(private readonly rate: Rate | null) {}

  take(ws: WebSocket, now: number): Verdict {
    if (this.rate === null) return { kind: "ok" };
    let state = this.bySocket.get(ws);
    if (!state) this.bySocket.set(ws, (state = { counts: advance(undefined, this.rate, now), strikes: -1 }));
    state.counts = advance(state.counts, this.rate, now);
    const result = hit(state.counts, this.rate, now);
    if (result.allowed) {
      state.strikes = -1;
      return { kind: "ok" };
    }
    state.strikes++;
    if (state.strikes === 0) return { kind: "refuse", retryAfter: retryAfterS(result, now) };
    return state.strikes > GRACE ? { kind: "close" } : { kind: "drop" };
  }

  /** Counts a frame against the socket's budget and acts on the verdict; false when the frame must not be handled. */
  admit(ws: WebSocket, act: BudgetActions): boolean {
    const verdict = this.take(ws, Date.now());
    switch (verdict.kind) {
      case "ok":
        return true;
      case "refuse":
        act.tell(tooManyFrames(verdict.retryAfter));
        return false;
      case "drop":
        return false;
      case "close":
        log.warn({ msg: "socket closed: frame budget exceeded" });
        act.close();
        return false;
    }
  }
}

/** What a socket is told when its frames are first refused. */
function tooManyFrames(retryAfter: number): ServerFrame {
  return {
    type: "error",
    code: "rate_limited",
    message: `too many frames; slow down for ${retryAfter} s or this socket will be closed`,
    retryAfter,
  };
}
