/**
 * Budgets counted in Upstash Redis by `@upstash/ratelimit`'s sliding window. Pinned to 2.0.8:
 * from 2.1 its Lua scripts begin with `#!lua flags=allow-key-locking`, which Upstash accepts
 * and a stock redis-server refuses, so the tests against a real Redis (and any self-hosted
 * Redis behind an Upstash-compatible proxy) would fail. 2.0.8 runs on both.
 */
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import type { Rate } from "../config";
import type { LimitResult } from "./sliding";
import { Outage, type LimitStore } from "./store";

export class UpstashStore implements LimitStore {
  readonly kind = "upstash";
  private readonly limiters = new Map<string, Ratelimit>();

  constructor(
    private readonly redis: Redis,
    readonly id: string,
    private readonly timeoutMs: number,
  ) {}

  async hit(rule: string, rate: Rate, key: string, count = 1): Promise<LimitResult> {
    let result;
    try {
      result = await this.limiter(rule, rate).limit(key, count === 1 ? undefined : { rate: count });
    } catch (err) {
      // The client's signal (redis.ts) abandons a request at the timeout; a refused connection
      // or an error answer throws too.
      if (err instanceof Error && err.name === "TimeoutError") throw new Outage(`redis did not answer within ${this.timeoutMs} ms`);
      throw new Outage(`redis: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { allowed: result.success, limit: result.limit, remaining: result.remaining, resetAt: result.reset };
  }

  async check(): Promise<string> {
    try {
      const answer = await Promise.race([
        this.redis.ping(),
        new Promise<string>((resolve) => setTimeout(() => resolve(`no answer within ${this.timeoutMs} ms`), this.timeoutMs)),
      ]);
      return answer === "PONG" ? "ok" : `error: ${answer}`;
    } catch (err) {
      // The client's own signal usually abandons the ping first, at the same timeout.
      if (err instanceof Error && err.name === "TimeoutError") return `error: no answer within ${this.timeoutMs} ms`;
      return `error: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  private limiter(rule: string, rate: Rate): Ratelimit {
    const name = `${rule}:${rate.limit}/${rate.windowMs}`;
    let limiter = this.limiters.get(name);
    if (!limiter) {
      limiter = new Ratelimit({
        redis: this.redis,
        limiter: Ratelimit.slidingWindow(rate.limit, `${rate.windowMs} ms`),
        prefix: `edge-chat:${rule}`,
        // No race against a timer of its own: the client's signal already abandons the request
        // at the same timeout (redis.ts), and a second timer per call only cost CPU.
        timeout: 0,
        // The in-memory block list would answer from this isolate's memory where the embedded
        // store asks its object: off, so both behave alike and every answer is the shared one.
        ephemeralCache: false,
        analytics: false,
      });
      this.limiters.set(name, limiter);
    }
    return limiter;
  }
}
