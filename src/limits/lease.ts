/**
 * Token leases: a room draws several of a user's sends from the store in one call and spends
 * them locally, so a user sending fast costs one store round trip per lease instead of one per
 * send (a REST call to Upstash or an RPC to a Limiter object: the largest part of a send's CPU).
 * docs/limits.md says what this does to the shared budget; in short:
 *
 * - Exact for one room: a lease is drawn only with as many tokens as the store said were left,
 *   and the answer (allowed, remaining) is the one the store would give for every send.
 * - Never more than the budget: every leased token is counted by the store when drawn.
 * - A lease never takes the store below half the budget: near the limit every send asks the
 *   store, so other rooms see the user's real count when it matters.
 * - Unused tokens go back after `idleMs` without a send, in the window they were drawn in;
 *   tokens of a window that ended are left counted there (the count can only run ahead).
 * - Answered ahead: a send with no token in hand, from a user the store said (within the last
 *   window) had more than half the budget left, is answered at once and counted by the draw it
 *   starts, so it never waits for the store. Near the limit every send waits for the store's
 *   answer. If sends in other rooms used the rest of the budget meanwhile, that one send is
 *   over it: at most one per room until the store's refusal arrives.
 * - A lease grows (1, 2, 4 … `max`) only while the user sends again within `idleMs`: someone
 *   sending now and then draws one token per send, as without leases. A user who comes back
 *   within the window after a pause starts at half their last lease (chat comes in bursts),
 *   so a burst after a burst does not climb from one again; the half shrinks to one over a
 *   few sends now and then.
 */
import type { Rate } from "../config";
import { log } from "../lib/log";
import { windowEndAt, type LimitResult } from "./sliding";

export interface LeaseOptions {
  /** The largest lease. */
  max: number;
  /** A lease unused this long is given back; a send within it lets the next lease grow. */
  idleMs: number;
}

export const LEASE_DEFAULTS: LeaseOptions = { max: 16, idleMs: 1000 };

/** Leases are not drawn or given back this close to the end of their window. */
const WINDOW_END_MARGIN_MS = 1000;
/** Keys kept at most; idle ones are forgotten first. */
const KEYS_KEPT = 1000;

/** Asks the store for `count` hits (negative: gives them back); resolves to the outage policy's answer when it does not answer. */
export type Draw = (count: number) => Promise<LimitResult>;

interface Lease {
  /** Tokens drawn and counted by the store, not spent yet. */
  tokens: number;
  /** What the store had left after the last draw. */
  storeRemaining: number;
  /** End of the window the tokens were counted in (epoch ms). */
  resetAt: number;
  /** Tokens the last draw asked for. */
  size: number;
  lastHitAt: number;
  /** Hits waiting for the draw in flight. */
  waiting: number;
  /** A draw in flight: hits of the same key wait for it instead of asking too. */
  drawing: Promise<void> | null;
  idleTimer: ReturnType<typeof setTimeout> | null;
}

/** What the store last said was left for a key, and when: it outlives the key's lease. */
interface Known {
  remaining: number;
  at: number;
  /** The key's last lease. */
  size: number;
}

/** Keys whose last answer is kept at most, per isolate; the oldest are forgotten first. */
const KNOWN_KEPT = 10_000;

/**
 * Per isolate, not per room: a room that hibernated between two sends (a quiet room, the common
 * case) comes back as a new object in the same isolate, and its first send would otherwise wait
 * for the store again; rooms of one user in the same isolate also learn from each other.
 */
const knownInIsolate = new Map<string, Known>();

/** What the store said of the key within the last window; an older answer says too little. */
function recentAnswer(id: string, rate: Rate, now: number): Known | undefined {
  const known = knownInIsolate.get(id);
  return known && now - known.at < rate.windowMs ? known : undefined;
}

export class Leases {
  private readonly leases = new Map<string, Lease>();

  constructor(private readonly options: LeaseOptions = LEASE_DEFAULTS) {}

  /**
   * Hits of one key are answered in the order they came: one that finds a draw in flight waits
   * behind it, and the hit that started the draw waits on it first, so it is served first.
   */
  async hit(id: string, rate: Rate, ask: Draw): Promise<LimitResult> {
    for (;;) {
      const now = Date.now();
      let lease = this.leases.get(id);
      if (lease && !lease.drawing && lease.resetAt <= now) {
        // Its window is over: what is left stays counted there, and the sliding window weighs
        // it as spent. Giving it back now would take it from the new window.
        this.forget(id, lease);
        lease = undefined;
      }
      if (lease && lease.tokens > 0) {
        lease.tokens--;
        lease.lastHitAt = now;
        const answer = { allowed: true, limit: rate.limit, remaining: lease.storeRemaining + lease.tokens, resetAt: lease.resetAt };
        this.refillAhead(id, rate, lease, now, ask);
        this.giveBackWhenIdle(id, lease, ask);
        return answer;
      }
      if (lease?.drawing) {
        lease.waiting++;
        await lease.drawing;
        lease.waiting--;
        continue;
      }
      const ahead = this.answerAhead(id, rate, now);
      const drawing = this.draw(id, rate, lease, now, ask, ahead ? 1 : 0);
      if (ahead) {
        drawing.catch(() => {});
        return ahead;
      }
      const drawn = await drawing;
      // Refused, or decided by the outage policy: that is this hit's answer, and nothing is leased.
      if (!drawn.allowed || drawn.outage) return drawn;
    }
  }

  /**
   * The answer for a hit that need not wait for its draw: the store said, within the last
   * window, that more than half the budget was left. Near the limit (or without a recent
   * answer) the hit waits, so the store decides.
   */
  private answerAhead(id: string, rate: Rate, now: number): LimitResult | null {
    const known = recentAnswer(id, rate, now);
    if (!known || known.remaining - 1 < Math.ceil(rate.limit / 2)) return null;
    known.remaining--;
    return { allowed: true, limit: rate.limit, remaining: known.remaining, resetAt: windowEndAt(rate, now) };
  }

  /** Keeps what the store said was left; an outage forgets it, so the outage policy decides. */
  private learn(id: string, result: LimitResult | null, size?: number): void {
    const before = knownInIsolate.get(id);
    knownInIsolate.delete(id);
    if (result === null || result.outage) return;
    if (knownInIsolate.size >= KNOWN_KEPT) knownInIsolate.delete(knownInIsolate.keys().next().value!);
    knownInIsolate.set(id, { remaining: result.remaining, at: Date.now(), size: size ?? before?.size ?? 1 });
  }

  /**
   * Fills the key's lease from the store; hits that come meanwhile wait for it. `spentAhead`:
   * tokens of this draw already spent by a hit answered ahead.
   */
  private draw(id: string, rate: Rate, current: Lease | undefined, now: number, ask: Draw, spentAhead = 0): Promise<LimitResult> {
    const size = this.nextSize(id, current, rate, now);
    const lease: Lease = current ?? { tokens: 0, storeRemaining: 0, resetAt: 0, size: 1, lastHitAt: now, waiting: 0, drawing: null, idleTimer: null };
    if (spentAhead > 0) lease.lastHitAt = now;
    this.keep(id, lease);
    const drawing = (async () => {
      try {
        // A draw behind a send answered ahead waits for the next task, so that building the
        // store's request is not done before that send is written and acked.
        if (spentAhead > 0) await new Promise((resolve) => setTimeout(resolve, 0));
        const result = await ask(size);
        this.learn(id, result, size);
        if (spentAhead > 0 && !result.allowed && !result.outage) {
          log.info({ msg: "limits: a send answered ahead was over the budget (spent in other rooms meanwhile)" });
        }
        if ((!result.allowed || result.outage) && lease.tokens > 0) {
          // A refill ahead that failed: the tokens in hand stay spendable (they were counted),
          // and the next draw is one token again, so the store decides each send near the limit.
          lease.size = 1;
          if (!result.outage) lease.storeRemaining = Math.min(lease.storeRemaining, result.remaining);
          return result;
        }
        if (!result.allowed || result.outage) {
          // The next draw is one token again. A refused draw of several may have been counted
          // whole (the store adds them before it compares): only when another room spent more
          // than this room's margin above half the budget since its last draw, and the count
          // then runs ahead by at most that draw.
          this.forget(id, lease);
          return result;
        }
        lease.size = size;
        lease.tokens += size - spentAhead;
        lease.storeRemaining = result.remaining;
        lease.resetAt = result.resetAt;
        if (spentAhead > 0) this.giveBackWhenIdle(id, lease, ask);
        return result;
      } catch (err) {
        this.learn(id, null);
        this.forget(id, lease);
        throw err;
      } finally {
        lease.drawing = null;
      }
    })();
    lease.drawing = drawing.then(
      () => {},
      () => {},
    );
    return drawing;
  }

  /**
   * Draws the next lease while the user still spends the current one, once half of it is gone,
   * so a steady sender's sends are answered from tokens in hand instead of waiting for the
   * store. Only for a lease that has grown (the user sent again within `idleMs`) and only when
   * the next lease would be more than one token: near half the budget, or near the end of the
   * window, every send asks the store itself, as before.
   */
  private refillAhead(id: string, rate: Rate, lease: Lease, now: number, ask: Draw): void {
    if (lease.drawing || lease.size < 2 || lease.tokens > lease.size / 2) return;
    if (this.nextSize(id, lease, rate, now) < 2) return;
    this.draw(id, rate, lease, now, ask).catch(() => {});
  }

  /**
   * Twice the last lease (enough for the sends already waiting) while the user sends again
   * within `idleMs`, up to `max`; after a pause, half the last one. Never so much that the store
   * would have less than half the budget left, nor close to the end of the window (what is not
   * spent by then is lost).
   */
  private nextSize(id: string, lease: Lease | undefined, rate: Rate, now: number): number {
    const half = Math.ceil(rate.limit / 2);
    if (lease && now - lease.lastHitAt < this.options.idleMs) {
      if (lease.resetAt - now < WINDOW_END_MARGIN_MS) return 1;
      return Math.max(1, Math.min(Math.max(2 * lease.size, lease.waiting + 1), this.options.max, lease.storeRemaining - half));
    }
    // After a pause: half the key's last lease, if the store answered within the last window;
    // without that the store's count is unknown, and it is one token, as without leases.
    const known = recentAnswer(id, rate, now);
    if (!known || windowEndAt(rate, now) - now < WINDOW_END_MARGIN_MS) return 1;
    return Math.max(1, Math.min(Math.floor(known.size / 2), this.options.max, known.remaining - half));
  }

  /** One timer per lease: when it fires after a send, it waits out the rest of the idle time. */
  private giveBackWhenIdle(id: string, lease: Lease, ask: Draw): void {
    if (lease.tokens === 0 || lease.idleTimer !== null) return;
    const check = () => {
      lease.idleTimer = null;
      if (this.leases.get(id) !== lease || lease.tokens === 0) return;
      if (lease.drawing) {
        // A refill ahead is in flight: what it brings is given back with the rest, later.
        lease.idleTimer = setTimeout(check, this.options.idleMs);
        return;
      }
      const now = Date.now();
      const idleFor = now - lease.lastHitAt;
      if (idleFor < this.options.idleMs) {
        lease.idleTimer = setTimeout(check, this.options.idleMs - idleFor);
        return;
      }
      const tokens = lease.tokens;
      this.forget(id, lease);
      // Only within the window they were counted in; a failure leaves them counted (the count
      // runs ahead, never behind).
      if (lease.resetAt - now >= WINDOW_END_MARGIN_MS) {
        ask(-tokens).then(
          (result) => this.learn(id, result),
          () => {},
        );
      }
    };
    lease.idleTimer = setTimeout(check, this.options.idleMs);
  }

  private keep(id: string, lease: Lease): void {
    if (!this.leases.has(id) && this.leases.size >= KEYS_KEPT) {
      for (const [k, l] of this.leases) if (l.tokens === 0 && !l.drawing) this.forget(k, l);
    }
    this.leases.set(id, lease);
  }

  private forget(id: string, lease: Lease): void {
    if (lease.idleTimer !== null) clearTimeout(lease.idleTimer);
    lease.idleTimer = null;
    if (this.leases.get(id) === lease) this.leases.delete(id);
  }
}
