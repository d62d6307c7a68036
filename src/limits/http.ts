/** Limits on REST routes: a middleware factory, the X-RateLimit-* headers and the refusals. */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { limitsFor } from ".";
import type { LimitedRule } from "./rules";
import { retryAfterS, type LimitResult } from "./sliding";

export function rateLimitHeaders(result: LimitResult): Record<string, string> {
  return {
    "x-ratelimit-limit": String(result.limit),
    "x-ratelimit-remaining": String(result.remaining),
    "x-ratelimit-reset": String(Math.ceil(result.resetAt / 1000)),
  };
}

/** 429 with Retry-After for a spent budget; 503 when the rule fails closed during an outage. */
export function refusal(result: LimitResult): ApiError {
  const retryAfter = retryAfterS(result);
  const headers = { "retry-after": String(retryAfter), ...rateLimitHeaders(result) };
  if (result.outage) return new ApiError("unavailable", `limits are unavailable; try again in ${retryAfter} s`, headers);
  return new ApiError("rate_limited", `too many requests; try again in ${retryAfter} s`, headers);
}

/** Counts the request against `rule` for the key `key(c)` names; headers go on the answer. */
export const rateLimit = (options: { rule: LimitedRule; key: (c: Context<AppEnv>) => string }) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const result = await limitsFor(c.env).hit(options.rule, options.key(c));
    if (result && !result.allowed) throw refusal(result);
    await next();
    // A socket upgrade's 101 comes from the room with headers that cannot change.
    if (result === null || c.res.status === 101) return;
    for (const [name, value] of Object.entries(rateLimitHeaders(result))) c.res.headers.set(name, value);
  });
