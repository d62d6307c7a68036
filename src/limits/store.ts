/** Where budgets are counted: Upstash Redis, or the embedded Limiter Durable Objects. */
import type { Rate } from "../config";
import type { LimitResult } from "./sliding";

export interface LimitStore {
  readonly kind: "upstash" | "embedded";
  /** Identifies the backing service, for the outage breaker and /api/health. */
  readonly id: string;
  /** Counts one hit of `key` against `rate`; throws `Outage` when the store did not answer. */
  hit(rule: string, rate: Rate, key: string): Promise<LimitResult>;
  /** "ok", or what is wrong; for /api/health. */
  check(): Promise<string>;
}

/** The store did not answer in time or at all. */
export class Outage extends Error {
  override name = "Outage";
}
