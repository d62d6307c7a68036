/**
 * What each budget counts, keyed by whom, and what happens when Redis does not answer
 * (times out or refuses the connection). The README's "Limits" table is this file in prose.
 *
 * - open: the request passes, counted against a budget kept in this isolate's memory (the
 *   same window), so an outage degrades the limit to per-isolate instead of lifting it.
 * - closed: the request is refused with 503 until Redis answers again.
 */
import type { RateName } from "../config";

export type OutagePolicy = "open" | "closed";

export const OUTAGE_POLICY: Record<Exclude<RateName, "frames">, OutagePolicy> = {
  // Chat must keep working through a Redis outage; the local budget still stops a flood.
  sends: "open",
  // Each token creates a user and a room: a free-for-all during an outage would be abused.
  visitorTokens: "closed",
  // Refusing reconnects would lock everyone out; the per-room socket cap still holds.
  connections: "open",
  // Uploads cost storage; they can wait for Redis.
  uploads: "closed",
  // Reads only; D1 answers them either way.
  searches: "open",
  // A ticket is the way onto a socket (the shipped clients fetch one before every connect):
  // refusing them would lock everyone out of live chat, as refusing connections would. Each
  // costs one small Durable Object that deletes itself within a minute, and the local budget
  // still stops a flood.
  tickets: "open",
};

export type LimitedRule = keyof typeof OUTAGE_POLICY;
