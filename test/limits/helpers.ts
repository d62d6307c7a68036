import { env } from "cloudflare:test";

/** Which store this project counts with (vitest.config.ts): the suite runs once for each. */
export const BACKEND = env.UPSTASH_REDIS_REST_URL ? "upstash" : "embedded";

/**
 * Waits until at least `needMs` remain in the current window of `windowMs`, so a test that
 * counts to a limit never straddles a window edge (where the previous window starts to count).
 */
export async function awayFromWindowEdge(windowMs = 60_000, needMs = 15_000): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 50));
}
