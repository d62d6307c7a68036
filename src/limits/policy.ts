/**
 * Limits as callers use them: a hit goes to the store (Upstash or embedded); when the store
 * does not answer, the rule's outage policy (rules.ts) decides. After an outage the store is
 * left alone for a few seconds, so requests do not each wait out the timeout again. Rules
 * named in `leased` draw tokens ahead (lease.ts): only for a Limits that lives as long as
 * its caller's budget is used, such as a room's.
 */
import type { Config, Rate } from "../config";
import { log } from "../lib/log";
import { Leases, LEASE_DEFAULTS, type LeaseOptions } from "./lease";
import { OUTAGE_POLICY, type LimitedRule } from "./rules";
import { advance, hit, type Counts, type LimitResult } from "./sliding";
import { Outage, type LimitStore } from "./store";

/** How long a store that failed is skipped before it is asked again. */
export const OUTAGE_PAUSE_MS = 5000;
/** Entries the local budget keeps before it forgets windows that have passed. */
const LOCAL_KEYS = 10_000;

// Per isolate, shared by every Limits in it: an outage seen by one request spares the next.
const downUntil = new Map<string, number>();
/** Counts per rule and key, with the window size they were counted in (rules differ). */
const localCounts = new Map<string, { counts: Counts; windowMs: number }>();
const reported = new Set<string>();

export interface LimitsOptions {
  /** Rules whose tokens are drawn ahead; the Limits must outlive a request (a room's does). */
  leased?: readonly LimitedRule[];
  lease?: LeaseOptions;
}

export class Limits {
  private readonly leases: Leases | null;
  private readonly leased: ReadonlySet<LimitedRule>;

  constructor(
    readonly store: LimitStore,
    private readonly rates: Config["rates"],
    options: LimitsOptions = {},
  ) {
    this.leased = new Set(options.leased ?? []);
    this.leases = this.leased.size > 0 ? new Leases(options.lease ?? LEASE_DEFAULTS) : null;
  }

  get kind() {
    return this.store.kind;
  }

  /** Counts one hit; null when the rule is off (nothing counted, no headers). */
  async hit(rule: LimitedRule, key: string): Promise<LimitResult | null> {
    const rate = this.rates[rule];
    if (rate === null) return null;
    if (this.leases && this.leased.has(rule)) {
      // The store's id in the key: what a store said is kept per isolate (lease.ts).
      return this.leases.hit(`${this.store.id}|${rule}:${key}`, rate, (count) => (count > 0 ? this.count(rule, rate, key, count) : this.giveBack(rule, rate, key, count)));
    }
    return this.count(rule, rate, key, 1);
  }

  /** `count` hits counted by the store, or one decided by the outage policy. */
  private async count(rule: LimitedRule, rate: Rate, key: string, count: number): Promise<LimitResult> {
    if ((downUntil.get(this.store.id) ?? 0) > Date.now()) return this.withoutStore(rule, rate, key);
    try {
      const result = await this.store.hit(rule, rate, key, count);
      if (downUntil.delete(this.store.id)) log.info({ msg: `limits: ${this.store.kind} answers again`, store: this.store.kind });
      return result;
    } catch (err) {
      if (!(err instanceof Outage)) throw err;
      downUntil.set(this.store.id, Date.now() + OUTAGE_PAUSE_MS);
      if (!reported.has(err.message)) {
        reported.add(err.message);
        log.error({
          msg: `limits: ${err.message}; sends and connections fail open on a local budget, visitor tokens and uploads closed`,
          store: this.store.kind,
        });
      }
      return this.withoutStore(rule, rate, key);
    }
  }

  /** Unused leased hits back to the store; if it does not answer they stay counted. */
  private async giveBack(rule: LimitedRule, rate: Rate, key: string, count: number): Promise<LimitResult> {
    if ((downUntil.get(this.store.id) ?? 0) > Date.now()) throw new Outage("paused");
    return this.store.hit(rule, rate, key, count);
  }

  /** Whether the store is being skipped after an outage (for /api/health). */
  get paused(): boolean {
    return (downUntil.get(this.store.id) ?? 0) > Date.now();
  }

  private withoutStore(rule: LimitedRule, rate: Rate, key: string): LimitResult {
    const now = Date.now();
    if (OUTAGE_POLICY[rule] === "closed") {
      return { allowed: false, limit: rate.limit, remaining: 0, resetAt: now + OUTAGE_PAUSE_MS, outage: true };
    }
    return { ...localHit(`${rule}:${key}`, rate, now), outage: true };
  }
}

/** The same sliding window, in this isolate's memory. */
export function localHit(key: string, rate: Rate, now: number): LimitResult {
  if (localCounts.size >= LOCAL_KEYS) {
    // Forget windows that have passed, each measured in its own rule's window size.
    for (const [k, e] of localCounts) if (e.counts.window < Math.floor(now / e.windowMs) - 1) localCounts.delete(k);
  }
  const counts = advance(localCounts.get(key)?.counts, rate, now);
  localCounts.set(key, { counts, windowMs: rate.windowMs });
  return hit(counts, rate, now);
}
