import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
export const ROOT = dirname(BENCH_DIR);
export const RESULTS_DIR = join(BENCH_DIR, "results");
/** Where the servers keep their storage; BENCH_STATE_DIR moves it (e.g. to a tmpfs). */
export const STATE_DIR = process.env.BENCH_STATE_DIR ?? join(BENCH_DIR, ".state");
/**
 * Where the limits section's workerd keeps its storage: a tmpfs when the box has one. On this
 * box's disk SQLite's flushes stall the whole workerd for 100–270 ms at random (a round's ack
 * p99 from 6 to 223 ms with nothing else changed, issue9-limits-12), far more than the 3 ms the
 * section compares; the limit itself never touches disk with Upstash. BENCH_LIMITS_STATE_DIR moves it.
 */
export const LIMITS_STATE_DIR = process.env.BENCH_LIMITS_STATE_DIR ?? (existsSync("/dev/shm") ? "/dev/shm/edge-chat-bench" : STATE_DIR);
