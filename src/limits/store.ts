/** Where budgets are counted: Upstash Redis, or the embedded Limiter Durable Objects. */
import type { Rate } from "../config";
import type { LimitResult } from "./sliding";

export interface LimitStore {
  readonly kind: "upstash" | "embedded";
  /** Identifies the backing service, for the outage breaker and /api/health. */
  readonly id: string;
  /**
   * Counts `count` hits (default one) of `key` against `rate`, as sliding.ts `hit` does: refused
   * only when the budget is spent, all `count` added otherwise; a negative count gives hits back
   * to the current window. Throws `Outage` when the store did not answer.
   */
  hit(rule: string, rate: Rate, key: string, count?: number): Promise<LimitResult>;
  /** "ok", or what is wrong; for /api/health. */
  check(): Promise<string>;
}

/** The store did not answer in time or at all. */
export class Outage extends Error {
  override name = "Outage";
}
