import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
export const ROOT = dirname(BENCH_DIR);
export const RESULTS_DIR = join(BENCH_DIR, "results");
export const STATE_DIR = join(BENCH_DIR, ".state");
