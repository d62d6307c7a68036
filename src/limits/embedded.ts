/** Budgets counted by the Limiter Durable Object, one per rule and key: the local default. */
import type { Rate } from "../config";
import type { Bindings } from "../env";
import { Outage, type LimitStore } from "./store";

export class EmbeddedStore implements LimitStore {
  readonly kind = "embedded";
  readonly id = "embedded";

  constructor(private readonly env: Bindings) {}

  async hit(rule: string, rate: Rate, key: string) {
    const stub = this.env.LIMITER.get(this.env.LIMITER.idFromName(`${rule}:${key}`));
    try {
      return await stub.hit(rate, Date.now());
    } catch (err) {
      throw new Outage(`limiter object failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async check() {
    return "embedded";
  }
}
