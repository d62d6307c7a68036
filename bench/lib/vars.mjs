/**
 * The project's settings for every bench script that starts it (run.mjs, cpu.mjs, profile.mjs).
 * Guards the bench would trip are raised here, never removed, so every section measures the
 * project with its limits counting:
 *
 *   DEV_MODE              /api/auth/dev tokens
 *   RATE_SENDS            one sender sends up to thousands of messages a second (fan-out search)
 *   RATE_FRAMES           the same messages, as frames of one socket
 *   RATE_CONNECTIONS      receivers connect as ten users, up to 500 sockets each (memory, room size)
 *   MAX_SOCKETS_PER_ROOM  the same: wrangler.toml's 10 per user per room would close all but 10
 *
 * The budgets stay real budgets ("count/window"), counted by the store on every send; only the
 * `limits` section runs a variant with them off, as its baseline.
 */
export const RAISED_BUDGET = "1000000/1m";

export const BENCH_VARS = {
  DEV_MODE: "true",
  RATE_SENDS: RAISED_BUDGET,
  RATE_FRAMES: RAISED_BUDGET,
  RATE_CONNECTIONS: RAISED_BUDGET,
  MAX_SOCKETS_PER_ROOM: "100000",
};
