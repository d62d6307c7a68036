/**
 * Scores that halve every hour, kept with forward decay (Cormode et al., "Forward Decay", 2009).
 *
 * A mention at time t is worth 2^(−(now − t)/H) at `now` (H: the half-life). Decaying every
 * stored score as time passes would rewrite the whole set on every read or on a timer. Instead
 * each mention is stored with weight 2^((t − epoch)/H) — it grows with time, not the stored
 * scores shrinking — so adding is a plain increment (ZINCRBY, `score = score + ?`), the order of
 * the stored numbers is already the order of the decayed scores, and reading divides them all
 * by the same 2^((now − epoch)/H). Nothing is ever reset: a topic from an hour ago simply
 * counts half as much as one from now.
 *
 * The weights grow by 2^24 a day, so once the epoch is older than `RESCALE_AFTER_MS` the next
 * add multiplies every stored score by 2^(−(now − epoch)/H) and moves the epoch to `now`:
 * the stored numbers stay within [0, 2^24 × mentions] and never overflow or lose precision.
 */

export const HALF_LIFE_MS = 60 * 60 * 1000;
/** How old the epoch may get before the stored scores are rescaled (weights up to 2^24). */
export const RESCALE_AFTER_MS = 24 * HALF_LIFE_MS;
/**
 * Decayed scores below this are forgotten at a rescale: one mention that is 10 hours old. They
 * could never be shown (scores are rounded to three decimals) and would only hold a place in
 * the top 50 that a new word would take anyway.
 */
export const FORGET_BELOW = 1e-3;

/** The stored weight of one mention at `now`: 2^((now − epoch)/H). */
export function weightAt(now: number, epoch: number): number {
  return 2 ** ((now - epoch) / HALF_LIFE_MS);
}

/** A stored score read at `now`: the decayed score. */
export function decayed(stored: number, now: number, epoch: number): number {
  return stored / weightAt(now, epoch);
}

/** Whether the next add must rescale the stored scores and move the epoch to `now`. */
export function needsRescale(now: number, epoch: number): boolean {
  return now - epoch > RESCALE_AFTER_MS;
}

/** Scores are shown with three decimals: more is noise, and the two backends agree to that. */
export function rounded(score: number): number {
  return Math.round(score * 1000) / 1000;
}
