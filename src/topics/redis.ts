/**
 * Topic scores in Upstash Redis: a sorted set per room, `edge-chat:topics:<roomId>`, and its
 * forward-decay epoch beside it (`…:epoch`, epoch milliseconds). Each call is one Lua script,
 * so an add is one round trip and atomic (rescale, increments and trim together; no MULTI,
 * which Upstash's REST transactions would make a second protocol to depend on), and a read
 * gets the epoch and the range that belong together.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { FORGET_BELOW, HALF_LIFE_MS, RESCALE_AFTER_MS, decayed, rounded } from "./decay";
import { KEEP_TOPICS, type Topic, type TopicStore } from "./store";

/**
 * Keys expire two days after a room's last add: by then every score has halved 48 times, and a
 * room nobody writes in should not keep costing storage. The embedded store needs no expiry:
 * its rows go with the room.
 */
const TTL_MS = 2 * RESCALE_AFTER_MS;

// KEYS: the sorted set, its epoch. ARGV: now, half-life, rescale-after, forget-below, keep,
// ttl, then word, count pairs. Mirrors SqlTopicStore.add; decay.ts explains the arithmetic.
const ADD = `
local now = tonumber(ARGV[1])
local halfLife = tonumber(ARGV[2])
local epoch = tonumber(redis.call('GET', KEYS[2]))
if epoch == nil or now - epoch > tonumber(ARGV[3]) then
  if epoch ~= nil then
    redis.call('ZUNIONSTORE', KEYS[1], 1, KEYS[1], 'WEIGHTS', 2 ^ (-(now - epoch) / halfLife))
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])
  end
  epoch = now
  redis.call('SET', KEYS[2], ARGV[1])
end
local weight = 2 ^ ((now - epoch) / halfLife)
for i = 7, #ARGV, 2 do
  redis.call('ZINCRBY', KEYS[1], tonumber(ARGV[i + 1]) * weight, ARGV[i])
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[5]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return 1
`;

// KEYS: the sorted set, its epoch. ARGV: limit. One JSON string back: the client would
// otherwise "deserialize" each word on its own, and a room talking about "null" or "true"
// would get those back as values.
const TOP = `
local epoch = redis.call('GET', KEYS[2])
if not epoch then return '[]' end
local range = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'REV', 'WITHSCORES')
if #range == 0 then return '[]' end
return cjson.encode({ epoch, range })
`;

export const topicsKey = (roomId: string) => `edge-chat:topics:${roomId}`;

export class RedisTopicStore implements TopicStore {
  private readonly keys: string[];

  constructor(
    private readonly redis: Redis,
    roomId: string,
  ) {
    this.keys = [topicsKey(roomId), `${topicsKey(roomId)}:epoch`];
  }

  async add(counts: ReadonlyMap<string, number>, now: number): Promise<void> {
    if (counts.size === 0) return;
    const args = [now, HALF_LIFE_MS, RESCALE_AFTER_MS, FORGET_BELOW, KEEP_TOPICS, TTL_MS].map(String);
    for (const [word, n] of counts) args.push(word, String(n));
    await this.redis.eval(ADD, this.keys, args);
  }

  async top(limit: number, now: number): Promise<Topic[]> {
    const raw: unknown = await this.redis.eval(TOP, this.keys, [String(limit)]);
    // The client parses JSON answers by itself unless told not to; take either.
    const answer: unknown = typeof raw === "string" ? JSON.parse(raw) : raw;
    if (!Array.isArray(answer) || answer.length !== 2) return [];
    const [epochText, range] = answer as [string, string[]];
    const epoch = Number(epochText);
    const topics: Topic[] = [];
    for (let i = 0; i + 1 < range.length; i += 2) {
      const score = rounded(decayed(Number(range[i + 1]), now, epoch));
      if (score > 0) topics.push({ word: range[i]!, score });
    }
    return topics;
  }
}
