import type { Bindings } from "../env";
import { ApiError } from "../lib/errors";
import type { LimitResult } from "./Limiter";

export { Limiter } from "./Limiter";

/** Counts one hit against `key`; throws 429 with Retry-After when the limit is spent. */
export async function enforceLimit(env: Bindings, key: string, limit: number, windowMs: number): Promise<LimitResult> {
  const result = await env.LIMITER.get(env.LIMITER.idFromName(key)).hit(limit, windowMs);
  if (!result.allowed) {
    const retryAfter = Math.max(1, Math.ceil((result.resetAt - Date.now()) / 1000));
    throw new ApiError("rate_limited", `too many requests; try again in ${retryAfter} s`, {
      "retry-after": String(retryAfter),
      ...rateLimitHeaders(result),
    });
  }
  return result;
}

export function rateLimitHeaders(result: LimitResult): Record<string, string> {
  return {
    "x-ratelimit-limit": String(result.limit),
    "x-ratelimit-remaining": String(result.remaining),
    "x-ratelimit-reset": String(Math.ceil(result.resetAt / 1000)),
  };
}
