/**
 * Mixed traffic for the `mix` section: sends, reactions and read receipts in one open-loop
 * schedule. The plan is a pure function of (count, shares), so the sending process and the
 * receiving processes derive the same one: a receiver matches its n-th `updated` (or `read`)
 * frame to the step's n-th react (or read) and so knows when it was scheduled.
 */

/** The measured mixes (shares of actions); every react and read is a real change. */
export const MIXES = {
  reactions: { send: 0.2, react: 0.8 },
  reads: { send: 0.2, read: 0.8 },
};

/** Filling the room before the mixes: messages to react to and to read up to. */
export const SEED = { send: 1 };

/**
 * Which of the acting sockets send messages. The others only react and read: the project
 * counts a user's own message as read, so a user who also sent would see reads at or below
 * their last message ignored (and nothing broadcast).
 */
export const writerCount = (actors) => {
  if (actors < 2) throw new Error("a mix needs at least 2 acting sockets (writers and readers are different users)");
  return Math.max(1, Math.round(actors * 0.2));
};

/** The kind of each of `count` actions, each kind spread evenly over the step. */
export function plan(count, shares) {
  const kinds = Object.keys(shares);
  const done = Object.fromEntries(kinds.map((k) => [k, 0]));
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    // The kind furthest behind its share goes next (ties: the first listed).
    let best = kinds[0];
    let gap = -Infinity;
    for (const k of kinds) {
      const g = shares[k] * (i + 1) - done[k];
      if (g > gap + 1e-9) [best, gap] = [k, g];
    }
    done[best]++;
    out[i] = best;
  }
  return out;
}

/** Scheduled send times (µs) of each kind's actions, in order: the n-th react is `of.react[n]`. */
export function scheduleByKind(kinds, startUs, rate) {
  const of = {};
  kinds.forEach((kind, k) => (of[kind] ??= []).push(startUs + Math.round((k * 1e6) / rate)));
  return of;
}

/**
 * Messages to seed so that no reader ever reads past the room's newest message: each reader
 * moves one seq per read, and the reads of every round (and the warm-up) are counted as if no
 * message were sent meanwhile.
 */
export function seedsNeeded({ rate, actors, warmupMs, stepMs, rounds, minimum }) {
  const readers = actors - writerCount(actors);
  const reads = (MIXES.reads.read ?? 0) * rate * ((warmupMs + rounds * stepMs) / 1000);
  return Math.max(minimum, Math.ceil(reads / readers) + 2);
}
