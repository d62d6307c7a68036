/**
 * Where a room's topic scores live. Two implementations behind one interface, and one test
 * suite for both (test/limits/topics.test.ts): `sql.ts` in the room's own SQLite (the embedded
 * default) and `redis.ts` in Upstash when it is configured. Both keep forward-decayed scores
 * (`decay.ts`) and the room's 50 best words.
 */
import type { Topic } from "../protocol";

export type { Topic };

/** How many words a room keeps; fewer would let a burst push out a steady topic too early. */
export const KEEP_TOPICS = 50;

export interface TopicStore {
  /**
   * Adds mentions (word → how many messages named it) made at `now`, then keeps the best
   * `KEEP_TOPICS`. One atomic write: a batch counts entirely or not at all.
   */
  add(counts: ReadonlyMap<string, number>, now: number): Promise<void>;
  /**
   * The best `limit` words with their scores as decayed to `now`, best first (rounded to three
   * decimals; ties in the order Redis gives them: the later word first). Words decayed to
   * nothing (under 0.0005) are left out.
   */
  top(limit: number, now: number): Promise<Topic[]>;
}
