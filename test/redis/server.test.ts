import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { redisFrom } from "../../src/limits/redis";

describe("The Upstash test server", () => {
  it("is a real Redis behind Upstash's REST protocol, and evaluates Lua", async () => {
    const redis = redisFrom(env)!;
    expect(await redis.ping()).toBe("PONG");
    expect(await redis.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", ["probe"], [2])).toBeGreaterThanOrEqual(2);
  });
});
