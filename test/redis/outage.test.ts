import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app from "../../src/app";
import { readConfig } from "../../src/config";
import { Limits } from "../../src/limits";
import { refusal } from "../../src/limits/http";
import { redisFrom } from "../../src/limits/redis";
import { UpstashStore } from "../../src/limits/upstash";
import type { Room } from "../../src/room/Room";
import { connect, createGroup, expectError, partsOf, people, roomStubOf, sendAndAck } from "../helpers";
import { awayFromWindowEdge } from "../limits/helpers";

const rates = readConfig(env).rates;
const timeoutMs = readConfig(env).redisTimeoutMs;

/** Limits against an Upstash URL that refuses connections ("down") or answers after 3 s ("slow"). */
function limitsAt(which: "down" | "slow"): Limits {
  const url = which === "down" ? env.TEST_DOWN_REDIS_URL! : env.TEST_SLOW_REDIS_URL!;
  const redis = redisFrom({ ...env, UPSTASH_REDIS_REST_URL: url })!;
  return new Limits(new UpstashStore(redis, url, timeoutMs), rates);
}

// workerd logs "Uncaught (in promise) ... Network connection lost" for every fetch to the
// "down" port even though the rejection is caught (a bare `fetch` there logs the same).

/** The Worker's app with Upstash pointed somewhere that does not answer. */
const downEnv = () => ({ ...env, UPSTASH_REDIS_REST_URL: env.TEST_DOWN_REDIS_URL! });

describe("When Redis is down", () => {
  it("lets sends through on a local budget of the same size: the 61st is still refused", async () => {
    await awayFromWindowEdge();
    const limits = limitsAt("down");
    const user = `down-${crypto.randomUUID()}`;
    for (let i = 0; i < 60; i++) expect(await limits.hit("sends", user)).toMatchObject({ allowed: true, outage: true });
    expect(await limits.hit("sends", user)).toMatchObject({ allowed: false, outage: true });
    expect(limits.paused).toBe(true);
  });

  it("decides a room's sends on the local budget too when they are drawn ahead: nothing is leased from a store that does not answer", async () => {
    await awayFromWindowEdge();
    const url = env.TEST_DOWN_REDIS_URL!;
    const limits = new Limits(new UpstashStore(redisFrom({ ...env, UPSTASH_REDIS_REST_URL: url })!, url, timeoutMs), rates, { leased: ["sends"] });
    const user = `down-leased-${crypto.randomUUID()}`;
    for (let i = 0; i < 60; i++) expect(await limits.hit("sends", user)).toMatchObject({ allowed: true, outage: true, remaining: 59 - i });
    expect(await limits.hit("sends", user)).toMatchObject({ allowed: false, outage: true });
  });

  it("refuses visitor tokens and uploads (fail closed) with 503 and Retry-After", async () => {
    const limits = limitsAt("down");
    const result = (await limits.hit("visitorTokens", `ip-${crypto.randomUUID()}`))!;
    expect(result).toMatchObject({ allowed: false, outage: true });
    expect(refusal(result).status).toBe(503);
    expect((await limits.hit("uploads", "someone"))!.allowed).toBe(false);
    const res = await app.request(
      "/api/auth/visitor",
      { method: "POST", body: JSON.stringify({ name: "Guest" }), headers: { "content-type": "application/json", "cf-connecting-ip": "10.0.0.1" } },
      downEnv(),
    );
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectError(res, 503, "unavailable");
  });

  it("keeps a room acking sends, and refusing the 61st, while its Redis refuses connections", async () => {
    const [alice, bob] = await people("alice", "bob");
    const room = (await createGroup(alice!, [bob!])).id;
    await runInDurableObject(roomStubOf(room), (r: Room) => {
      partsOf(r).limits = limitsAt("down");
    });
    await awayFromWindowEdge();
    const { socket } = await connect(room, alice!);
    for (let i = 0; i < 60; i++) await sendAndAck(socket, `through the outage ${i}`);
    socket.send({ type: "send", clientId: "61", text: "one more" });
    expect(await socket.next("error")).toMatchObject({ code: "rate_limited", clientId: "61" });
  });

  it("says so in /api/health: 503, degraded, with the reason", async () => {
    const res = await app.request("/api/health", {}, downEnv());
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; checks: { redis: string } };
    expect(body.status).toBe("degraded");
    expect(body.checks.redis).toMatch(/^error: /);
  });
});

describe("When Redis is slow", () => {
  it("waits REDIS_TIMEOUT_MS, then applies the same policy: sends pass, visitor tokens do not", async () => {
    const user = `slow-${crypto.randomUUID()}`;
    expect(await limitsAt("slow").hit("sends", user)).toMatchObject({ allowed: true, outage: true });
    // A fresh Limits for another URL state: the slow store is now paused, so this one is
    // decided without waiting, by the same policy.
    expect(await limitsAt("slow").hit("visitorTokens", `ip-${crypto.randomUUID()}`)).toMatchObject({ allowed: false, outage: true });
  });

  it("reports the slow Redis in the health check", async () => {
    const redis = redisFrom({ ...env, UPSTASH_REDIS_REST_URL: env.TEST_SLOW_REDIS_URL! })!;
    expect(await new UpstashStore(redis, env.TEST_SLOW_REDIS_URL!, timeoutMs).check()).toMatch(/^error: no answer within/);
  });
});

describe("With Redis up", () => {
  it("counts in Redis: the keys are there, under the edge-chat prefix", async () => {
    const user = `keys-${crypto.randomUUID()}`;
    const limits = new Limits(new UpstashStore(redisFrom(env)!, env.UPSTASH_REDIS_REST_URL!, timeoutMs), rates);
    expect(await limits.hit("sends", user)).toMatchObject({ allowed: true, remaining: 59 });
    expect(await limits.hit("sends", user)).not.toHaveProperty("outage");
    const keys = await redisFrom(env)!.keys(`edge-chat:sends:${user}:*`);
    expect(keys).toHaveLength(1);
  });
});
