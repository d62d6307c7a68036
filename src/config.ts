/** Numeric and boolean settings, parsed once from the string vars in wrangler.toml. */
import { DEFAULT_MAX_TEXT } from "./protocol";
import type { Bindings } from "./env";

export interface Config {
  devMode: boolean;
  allowedOrigins: string[];
  maxTextLength: number;
  flushIntervalMs: number;
  flushBatchRows: number;
  retainLocalMessages: number;
  /** How long after sending its author may edit a message; 0: always. */
  editWindowMs: number;
  /** User ids of the staff: visitors' rooms include them, and they run the community. */
  staff: string[];
  /** Words that never count as topics, on top of the built-in English list (src/topics/stop-words.ts). */
  topicStopWords: string[];
}

function int(value: string | undefined, fallback: number, min = 0): number {
  const n = Number.parseInt(value ?? "", 10);
  return Number.isFinite(n) && n >= min ? n : fallback;
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
}

export function readConfig(env: Bindings): Config {
  return {
    devMode: env.DEV_MODE === "true",
    allowedOrigins: list(env.ALLOWED_ORIGINS),
    maxTextLength: int(env.MAX_TEXT_LENGTH, DEFAULT_MAX_TEXT, 1),
    flushIntervalMs: int(env.FLUSH_INTERVAL_MS, 2000),
    flushBatchRows: int(env.FLUSH_BATCH_ROWS, 500, 1),
    retainLocalMessages: int(env.RETAIN_LOCAL_MESSAGES, 1000),
    editWindowMs: int(env.EDIT_WINDOW_S, 900) * 1000,
    staff: list(env.STAFF_USER_IDS),
    topicStopWords: list(env.TOPIC_STOP_WORDS),
  };
}
