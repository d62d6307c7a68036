/** Budgets counted by the Limiter Durable Object, one per rule and key: the local default. */
import type { Rate } from "../config";
import type { Bindings } from "../env";
import type { Limiter } from "./Limiter";
import { Outage, type LimitStore } from "./store";

/** Stubs kept per store: a room asks for the same few users' limiters on every send. */
const STUBS_KEPT = 1000;

export class EmbeddedStore implements LimitStore {
  readonly kind = "embedded";
  readonly id = "embedded";
  private readonly stubs = new Map<string, DurableObjectStub<Limiter>>();

  constructor(private readonly env: Bindings) {}

  async hit(rule: string, rate: Rate, key: string, count = 1) {
    const stub = this.stubFor(`${rule}:${key}`);
    try {
      return await stub.hit(rate, Date.now(), count);
    } catch (err) {
      throw new Outage(`limiter object failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private stubFor(name: string): DurableObjectStub<Limiter> {
    let stub = this.stubs.get(name);
    if (!stub) {
      if (this.stubs.size >= STUBS_KEPT) this.stubs.clear();
      stub = this.env.LIMITER.get(this.env.LIMITER.idFromName(name));
      this.stubs.set(name, stub);
    }
    return stub;
  }

  async check() {
    return "embedded";
  }
}
