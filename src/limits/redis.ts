/**
 * The Upstash Redis client, when `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN` are
 * set; without them the embedded implementations serve (see README, "Limits").
 */
import { Redis } from "@upstash/redis/cloudflare";
import { readConfig } from "../config";
import type { Bindings } from "../env";

export function redisFrom(env: Bindings): Redis | null {
  const url = env.UPSTASH_REDIS_REST_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN;
  if (!url || !token) return null;
  // No retries: a send waits on this call, and what happens when Redis does not answer is
  // decided per limit (src/limits/policy.ts), not by retrying behind the sender's back.
  const timeoutMs = readConfig(env).redisTimeoutMs;
  return new Redis({
    url,
    token,
    retry: false,
    enableTelemetry: false,
    // Every call here is awaited alone (a limit check, a topics flush), so there is nothing to
    // batch: the auto-pipeline only wrapped each command in a pipeline of one, which cost more
    // CPU in the room than the request itself (bench/results/profile-ours-10x100-upstash-prefetch.md).
    enableAutoPipelining: false,
    // Plain JSON answers (no base64 layer): everything stored here is UTF-8 text and numbers,
    // and the same client then also speaks to a local `upstash-redis-server` in development.
    responseEncoding: false,
    // A request Redis does not answer in time is abandoned, not left holding a connection.
    signal: () => AbortSignal.timeout(timeoutMs),
  });
}
