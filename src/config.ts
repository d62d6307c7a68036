/** Numeric and boolean settings, parsed once from the string vars in wrangler.toml. */
import { DEFAULT_MAX_TEXT } from "./protocol";
import type { Bindings } from "./env";
import { isRegion, type Region } from "./shard/regions";

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
  /** User ids with the service role `admin` (besides tokens whose `roles` claim says so). */
  admins: string[];
  /**
   * Budgets, each `count/window` in wrangler.toml (`RATE_*`), or null for `off`: no limit and
   * no call to the store (behind a gateway that limits already; the bench's baseline).
   * src/limits/rules.ts says who counts.
   */
  rates: Record<RateName, Rate | null>;
  /** Sockets one user may hold open in one room; one more closes their oldest. */
  maxSocketsPerRoom: number;
  /**
   * How long presence changes in a large room (src/room/presence.ts) wait to leave together;
   * 0: at once, whatever the room's size.
   */
  presenceIntervalMs: number;
  /**
   * Sockets per object in a room before new ones go to shard objects (src/shard/): the room
   * holds this many itself, then each shard as many. 0: no shards, the room holds every socket.
   */
  roomShardThreshold: number;
  /**
   * Durable Object location hints a very large room's shards are spread over, each socket placed
   * in the one nearest to it (src/shard/regions.ts). Empty: shards go wherever Cloudflare puts them.
   */
  roomShardRegions: Region[];
  /** User sockets (devices) one user may hold open; one more closes their oldest. */
  maxUserSockets: number;
  /** How long a limit waits for Redis before its outage policy applies. */
  redisTimeoutMs: number;
  /** Words that never count as topics, on top of the built-in English list (src/topics/stop-words.ts). */
  topicStopWords: string[];
  /** Messages older than this many days are removed by the daily job; 0: kept forever. */
  retentionDays: number;
}

export interface Rate {
  limit: number;
  windowMs: number;
}

export type RateName = "sends" | "visitorTokens" | "connections" | "uploads" | "searches" | "frames" | "tickets";

const DEFAULT_RATES: Record<RateName, string> = {
  sends: "60/1m",
  visitorTokens: "10/15m",
  connections: "30/1m",
  uploads: "30/1m",
  searches: "60/1m",
  frames: "240/1m",
  tickets: "30/1m",
};

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `"60/1m"`: 60 per minute. Units s, m, h; `off`: no limit. Anything else falls back to the default. */
export function parseRate(value: string | undefined, fallback: string): Rate | null {
  if (value?.trim().toLowerCase() === "off") return null;
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*([smh])\s*$/.exec(value ?? "") ?? /^(\d+)\/(\d+)([smh])$/.exec(fallback)!;
  const limit = Number(match[1]);
  const windowMs = Number(match[2]) * UNIT_MS[match[3] as keyof typeof UNIT_MS];
  if (limit < 1 || windowMs < 1000) return parseRate(fallback, fallback);
  return { limit, windowMs };
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

// Parsed once per env object: the Worker and each Durable Object get one env for their life,
// and the REST path used to parse it again in every middleware. Tests pass modified copies
// ({ ...env, X }), which are other objects.
const parsed = new WeakMap<Bindings, Config>();

export function readConfig(env: Bindings): Config {
  let config = parsed.get(env);
  if (!config) {
    config = parseConfig(env);
    parsed.set(env, config);
  }
  return config;
}

function parseConfig(env: Bindings): Config {
  return {
    devMode: env.DEV_MODE === "true",
    allowedOrigins: list(env.ALLOWED_ORIGINS),
    maxTextLength: int(env.MAX_TEXT_LENGTH, DEFAULT_MAX_TEXT, 1),
    flushIntervalMs: int(env.FLUSH_INTERVAL_MS, 2000),
    flushBatchRows: int(env.FLUSH_BATCH_ROWS, 500, 1),
    retainLocalMessages: int(env.RETAIN_LOCAL_MESSAGES, 1000),
    editWindowMs: int(env.EDIT_WINDOW_S, 900) * 1000,
    staff: list(env.STAFF_USER_IDS),
    admins: list(env.ADMIN_USER_IDS),
    rates: {
      sends: parseRate(env.RATE_SENDS, DEFAULT_RATES.sends),
      visitorTokens: parseRate(env.RATE_VISITOR_TOKENS, DEFAULT_RATES.visitorTokens),
      connections: parseRate(env.RATE_CONNECTIONS, DEFAULT_RATES.connections),
      uploads: parseRate(env.RATE_UPLOADS, DEFAULT_RATES.uploads),
      searches: parseRate(env.RATE_SEARCHES, DEFAULT_RATES.searches),
      frames: parseRate(env.RATE_FRAMES, DEFAULT_RATES.frames),
      tickets: parseRate(env.RATE_TICKETS, DEFAULT_RATES.tickets),
    },
    maxSocketsPerRoom: int(env.MAX_SOCKETS_PER_ROOM, 10, 1),
    presenceIntervalMs: int(env.PRESENCE_INTERVAL_MS, 1000),
    roomShardThreshold: int(env.ROOM_SHARD_THRESHOLD, 1000),
    roomShardRegions: list(env.ROOM_SHARD_REGIONS).filter(isRegion),
    maxUserSockets: int(env.MAX_USER_SOCKETS, 10, 1),
    redisTimeoutMs: int(env.REDIS_TIMEOUT_MS, 500, 1),
    topicStopWords: list(env.TOPIC_STOP_WORDS),
    retentionDays: int(env.RETENTION_DAYS, 0),
  };
}
