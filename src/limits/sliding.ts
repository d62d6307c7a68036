/**
 * The sliding window of `@upstash/ratelimit`'s `slidingWindow`, in plain code: the embedded
 * limiter and the outage fallback count with it, so they refuse exactly where Redis would.
 * A window's count plus the previous window's, weighted by how much of it still overlaps.
 */
import type { Rate } from "../config";

export interface LimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch milliseconds when the current window ends. */
  resetAt: number;
  /** Counted without Redis (it did not answer): the outage policy decided. */
  outage?: true;
}

export interface Counts {
  /** The window these counts belong to: floor(time / windowMs). */
  window: number;
  current: number;
  previous: number;
}

/** When the window of `now` ends (epoch ms): what a store answers as `resetAt`. */
export const windowEndAt = (rate: Rate, now: number) => (Math.floor(now / rate.windowMs) + 1) * rate.windowMs;

/** Moves counts kept for an earlier window to the window of `now`. */
export function advance(counts: Counts | undefined, rate: Rate, now: number): Counts {
  const window = Math.floor(now / rate.windowMs);
  if (!counts || counts.window < window - 1) return { window, current: 0, previous: 0 };
  if (counts.window === window - 1) return { window, current: 0, previous: counts.current };
  return counts;
}

/**
 * Counts `count` hits if the budget allows; `counts` must be advanced to `now`. As the library's
 * script does: refused only when the budget is already spent, otherwise all `count` are added
 * and the answer is "allowed" if they all fit (so asking for more than is left spends them
 * and is refused: callers ask for at most what they know is left). A negative `count` gives
 * hits back.
 */
export function hit(counts: Counts, rate: Rate, now: number, count = 1): LimitResult {
  const { limit, windowMs } = rate;
  const resetAt = (counts.window + 1) * windowMs;
  const weighted = Math.floor((1 - (now % windowMs) / windowMs) * counts.previous);
  if (count > 0 && weighted + counts.current >= limit) return { allowed: false, limit, remaining: 0, resetAt };
  counts.current += count;
  const left = limit - (counts.current + weighted);
  return { allowed: left >= 0, limit, remaining: Math.max(0, left), resetAt };
}

/** Whole seconds until the window ends, at least 1: what Retry-After says. */
export const retryAfterS = (result: LimitResult, now = Date.now()) => Math.max(1, Math.ceil((result.resetAt - now) / 1000));
