/**
 * Rate limits: one interface (`Limits`), two stores. With UPSTASH_REDIS_REST_URL and
 * UPSTASH_REDIS_REST_TOKEN set, Upstash Redis counts; without them the embedded Limiter
 * Durable Objects do, with the same sliding window, so `npm start` needs nothing external.
 */
import { readConfig } from "../config";
import type { Bindings } from "../env";
import { EmbeddedStore } from "./embedded";
import { Limits, type LimitsOptions } from "./policy";
import { redisFrom } from "./redis";
import { UpstashStore } from "./upstash";

export { Limiter } from "./Limiter";
export { Limits, type LimitsOptions } from "./policy";
export type { LimitResult } from "./sliding";
export type { LimitedRule } from "./rules";

export function limitsFor(env: Bindings, options?: LimitsOptions): Limits {
  const config = readConfig(env);
  const redis = redisFrom(env);
  const store = redis
    ? new UpstashStore(redis, env.UPSTASH_REDIS_REST_URL!, config.redisTimeoutMs)
    : new EmbeddedStore(env);
  return new Limits(store, config.rates, options);
}
