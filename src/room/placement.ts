/**
 * Where a new socket of the room goes: the room itself while it holds fewer than the threshold,
 * otherwise the first of its shards with fewer (src/shard/), among the shards of the socket's
 * region when the shards have regions (src/shard/regions.ts). The counts are the room's own; a
 * placement is reserved until the socket arrives (or 10 s pass), so that a burst of upgrades
 * does not pile onto one object before any of them has joined.
 */

/** How long a placement is held for an upgrade that has not arrived. */
export const RESERVATION_MS = 10_000;

/** The room itself, among the places a socket can go. */
const HERE = -1;

export interface PlacementCounts {
  /** Sockets the room holds itself. */
  here: () => number;
  /** Sockets the room knows on shard `shard`. */
  on: (shard: number) => number;
}

export class Placement {
  private readonly reserved = new Map<number, number[]>();

  constructor(
    private readonly threshold: number,
    private readonly counts: PlacementCounts,
    /** How many regions the shards are spread over: shard `n` is in region `n % regions`. */
    private readonly regions = 1,
  ) {}

  get sharding(): boolean {
    return this.threshold > 0;
  }

  /** null: the room itself; a number: that shard, one of region `region`'s. */
  place(region = 0, now = Date.now()): number | null {
    if (this.threshold <= 0) return null;
    if (this.counts.here() + this.held(HERE, now) < this.threshold) {
      this.reserve(HERE, now);
      return null;
    }
    const step = Math.max(1, this.regions);
    for (let shard = Number.isInteger(region) && region >= 0 && region < step ? region : 0; ; shard += step) {
      if (this.counts.on(shard) + this.held(shard, now) < this.threshold) {
        this.reserve(shard, now);
        return shard;
      }
    }
  }

  /** A placed socket joined (null: the room itself): its reservation is used. */
  arrived(shard: number | null): void {
    this.reserved.get(shard ?? HERE)?.shift();
  }

  private held(slot: number, now: number): number {
    const times = this.reserved.get(slot);
    if (!times) return 0;
    while (times.length > 0 && times[0]! <= now - RESERVATION_MS) times.shift();
    if (times.length === 0) this.reserved.delete(slot);
    return times.length;
  }

  private reserve(slot: number, now: number): void {
    const times = this.reserved.get(slot);
    if (times) times.push(now);
    else this.reserved.set(slot, [now]);
  }
}
