/**
 * Trending topics of a room (docs/topics.md). Each stored message's words are counted in
 * memory (`noted`, synchronous and cheap, called after the message went out); shortly after,
 * one write per room adds the whole burst to the store; then, if the room's top 10 words
 * changed, every socket gets a `topics` frame, at most once per 10 s. None of this is on the
 * path of an ack, and a store that fails or hangs (Redis down) costs a log line, not a send.
 */
import type { Config } from "../config";
import type { Bindings } from "../env";
import { log } from "../lib/log";
import { redisFrom } from "../limits/redis";
import type { ServerFrame, Topic } from "../protocol";
import { RedisTopicStore } from "./redis";
import { SqlTopicStore } from "./sql";
import { stopWordsWith } from "./stop-words";
import { KEEP_TOPICS, type TopicStore } from "./store";
import { Tokenizer } from "./words";

export type { Topic, TopicStore };
export { Tokenizer };

/** `GET …/topics`: `limit` 1..50 (all a room keeps), 10 when absent. */
export const TOPICS_DEFAULT_LIMIT = 10;
export const TOPICS_MAX_LIMIT = KEEP_TOPICS;
/** How long noted words wait, so that a burst of sends becomes one store write. */
export const FLUSH_DELAY_MS = 300;
/** Sockets hear of a changed top 10 at most this often; a later change is sent when it is due. */
export const BROADCAST_EVERY_MS = 10_000;
/** The `topics` frame carries the top 10. */
export const TOPICS_IN_FRAME = 10;
/** Distinct words one flush carries at most; a flood of new words beyond it is not counted. */
export const MAX_PENDING_WORDS = 500;

/** Upstash when it is configured, else the room's own SQLite: the same behaviour either way. */
export function topicStoreFor(env: Bindings, sql: SqlStorage, roomId: string): TopicStore {
  const redis = redisFrom(env);
  return redis ? new RedisTopicStore(redis, roomId) : new SqlTopicStore(sql);
}

/** Time for decay and for the waits; tests substitute one they move by hand. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}
export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RoomTopicsOptions {
  /** The room's store; asked for once, when the room first needs it. */
  store: (roomId: string) => TopicStore;
  tokenizer: Tokenizer;
  broadcast: (frame: Extract<ServerFrame, { type: "topics" }>) => void;
  /** Keeps the object alive for work that outlives the handler that started it. */
  waitUntil: (promise: Promise<unknown>) => void;
  clock?: Clock;
}

/** The topics of one room, as its Durable Object runs them. */
export class RoomTopics {
  clock: Clock;
  private pending = new Map<string, number>();
  /** When the first of the pending words was noted: the time their mentions are scored at. */
  private pendingSince = 0;
  private roomId: string | null = null;
  private storeOfRoom: TopicStore | null = null;
  /** Flushes and announcements run one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  private trailingScheduled = false;
  /** The words (in order) of the last `topics` frame, and when it went out. */
  private lastWords: string | null = null;
  private lastBroadcastAt = Number.NEGATIVE_INFINITY;
  /** Set from a failure until the next success: an outage is logged once, not per flush. */
  private failing = false;

  constructor(private readonly options: RoomTopicsOptions) {
    this.clock = options.clock ?? realClock;
  }

  /** A stored message: counts its words and schedules the room's next flush. Never throws. */
  noted(roomId: string, text: string): void {
    let words: string[];
    try {
      words = this.options.tokenizer.words(text);
    } catch (err) {
      return this.failed(err);
    }
    if (words.length === 0) return;
    this.roomId = roomId;
    if (this.pending.size === 0) this.pendingSince = this.clock.now();
    for (const word of words) {
      const n = this.pending.get(word);
      if (n !== undefined) this.pending.set(word, n + 1);
      else if (this.pending.size < MAX_PENDING_WORDS) this.pending.set(word, 1);
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const due = this.clock.sleep(FLUSH_DELAY_MS).then(() => {
      this.flushScheduled = false;
      return this.serially(async () => {
        await this.flush();
        await this.announce();
      });
    });
    this.options.waitUntil(due);
  }

  /**
   * The best `limit` words now, for the REST route. Words noted so far are written first, so a
   * read after an ack sees that message. Throws when the store fails.
   */
  async top(roomId: string, limit: number): Promise<Topic[]> {
    this.roomId ??= roomId;
    await this.serially(() => this.flush());
    try {
      return await this.store(roomId).top(limit, this.clock.now());
    } catch (err) {
      this.failed(err);
      throw err;
    }
  }

  private async flush(): Promise<void> {
    if (this.pending.size === 0 || this.roomId === null) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      // A failed batch is dropped, not retried: topics are a summary, and a retry queue
      // behind a dead Redis would only grow.
      await this.store(this.roomId).add(batch, this.pendingSince);
      this.failing = false;
    } catch (err) {
      this.failed(err);
    }
  }

  /** Broadcasts the top 10 if its words changed, unless the last frame is under 10 s old. */
  private async announce(): Promise<void> {
    const roomId = this.roomId;
    if (roomId === null) return;
    const wait = this.lastBroadcastAt + BROADCAST_EVERY_MS - this.clock.now();
    if (wait > 0) {
      // Too soon: one trailing look when it is due, at whatever the top 10 is by then.
      if (!this.trailingScheduled) {
        this.trailingScheduled = true;
        const due = this.clock.sleep(wait).then(() => {
          this.trailingScheduled = false;
          return this.serially(() => this.announce());
        });
        this.options.waitUntil(due);
      }
      return;
    }
    let topics: Topic[];
    try {
      topics = await this.store(roomId).top(TOPICS_IN_FRAME, this.clock.now());
    } catch (err) {
      return this.failed(err);
    }
    const words = topics.map((t) => t.word).join("\n");
    if (words === this.lastWords) return;
    this.lastWords = words;
    this.lastBroadcastAt = this.clock.now();
    this.options.broadcast({ type: "topics", topics });
  }

  private serially(task: () => Promise<void>): Promise<void> {
    // Tasks catch their own failures; the catch only keeps one bug from stopping the queue.
    const run = this.queue.then(task).catch((err: unknown) => this.failed(err));
    this.queue = run;
    return run;
  }

  private store(roomId: string): TopicStore {
    return (this.storeOfRoom ??= this.options.store(roomId));
  }

  private failed(err: unknown): void {
    if (this.failing) return;
    this.failing = true;
    log.error({ msg: "topics: the topic store failed; topics stay as they were until it answers again", error: err });
  }
}

/** A room's topics as the Room Durable Object wires them: its config, its storage, its sockets. */
export function roomTopicsFor(
  ctx: DurableObjectState,
  env: Bindings,
  config: Config,
  broadcast: RoomTopicsOptions["broadcast"],
): RoomTopics {
  return new RoomTopics({
    store: (roomId) => topicStoreFor(env, ctx.storage.sql, roomId),
    tokenizer: new Tokenizer(stopWordsWith(config.topicStopWords)),
    broadcast,
    waitUntil: (promise) => ctx.waitUntil(promise),
  });
}
