import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
export const ROOT = dirname(BENCH_DIR);
export const RESULTS_DIR = join(BENCH_DIR, "results");
/** Where the servers keep their storage; BENCH_STATE_DIR moves it (e.g. to a tmpfs). */
export const STATE_DIR = process.env.BENCH_STATE_DIR ?? join(BENCH_DIR, ".state");
