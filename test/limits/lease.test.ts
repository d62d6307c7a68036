import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readConfig } from "../../src/config";
import { Limits, limitsFor } from "../../src/limits";
import type { LimitStore } from "../../src/limits/store";
import { BACKEND, awayFromWindowEdge } from "./helpers";

const rates = readConfig(env).rates;
const lease = { max: 16, idleMs: 100 };

/** The project's store, counting the calls made to it. */
function countingStore(): LimitStore & { calls: number[] } {
  const store = limitsFor(env).store;
  const calls: number[] = [];
  return {
    kind: store.kind,
    id: store.id,
    calls,
    hit: (rule, rate, key, count = 1) => {
      calls.push(count);
      return store.hit(rule, rate, key, count);
    },
    check: () => store.check(),
  };
}

/** A room's limits: sends drawn ahead. */
const roomLimits = (store: LimitStore) => new Limits(store, rates, { leased: ["sends"], lease });
/** Limits without leases, as the REST routes use them: every hit asks the store. */
const plainLimits = () => new Limits(limitsFor(env).store, rates);
const user = () => `lease-${crypto.randomUUID()}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`Sends drawn ahead by a room (${BACKEND})`, () => {
  afterEach(() => vi.useRealTimers());

  it("answers a burst of 60 exactly, counting down, with leases of 1, 2, 4, 8 and 15, then one store call per send past half the budget", async () => {
    await awayFromWindowEdge();
    const store = countingStore();
    const limits = roomLimits(store);
    const who = user();
    const remaining: number[] = [];
    for (let i = 0; i < 60; i++) {
      const result = (await limits.hit("sends", who))!;
      expect(result.allowed).toBe(true);
      remaining.push(result.remaining);
    }
    expect(remaining).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i));
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: false, remaining: 0 });
    expect(store.calls).toEqual([1, 2, 4, 8, 15, ...Array<number>(31).fill(1)]);
  });

  it("lets sends that arrive while a draw is in flight wait for it, in order: ten at once cost two store calls, and the next lease is drawn once half of the second is spent", async () => {
    await awayFromWindowEdge();
    const store = countingStore();
    const limits = roomLimits(store);
    const who = user();
    const answered: number[] = [];
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => limits.hit("sends", who).then((r) => (answered.push(i), r))));
    expect(results.every((r) => r!.allowed)).toBe(true);
    expect(store.calls).toEqual([1, 9, 16]);
    // In the order they came, each counting down: a user's sends are not reordered by a draw.
    expect(answered).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(results.map((r) => r!.remaining)).toEqual([59, 58, 57, 56, 55, 54, 53, 52, 51, 50]);
  });

  it("answers a steady sender from tokens in hand while the next lease is drawn: after the second send, none waits for the store", async () => {
    await awayFromWindowEdge();
    const inner = limitsFor(env).store;
    const calls: number[] = [];
    // Draws of more than two tokens (the refills ahead) are held until the test lets them go.
    const held: Array<() => void> = [];
    const store: LimitStore = {
      kind: inner.kind,
      id: inner.id,
      hit: async (rule, rate, key, count = 1) => {
        calls.push(count);
        if (count > 2) await new Promise<void>((go) => held.push(go));
        return inner.hit(rule, rate, key, count);
      },
      check: () => inner.check(),
    };
    const limits = roomLimits(store);
    const who = user();
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 59 });
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 58 });
    // Half of the lease of two is spent: the lease of four is on its way, and held.
    expect(calls).toEqual([1, 2, 4]);
    expect(held).toHaveLength(1);
    // The third send is answered from the token in hand, with the draw still held.
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 57 });
    // The fourth has none left: it waits for the draw, and is answered once the store has it.
    let fourth: unknown = null;
    const waiting = limits.hit("sends", who).then((r) => (fourth = r));
    await sleep(20);
    expect(fourth).toBeNull();
    held.shift()!();
    await waiting;
    expect(fourth).toMatchObject({ allowed: true, remaining: 56 });
    expect(calls).toEqual([1, 2, 4]);
    // Three left of the four; the next one spent brings it to half and draws eight ahead.
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 55 });
    expect(calls).toEqual([1, 2, 4, 8]);
    held.shift()!();
  });

  it("keeps the tokens in hand when a lease drawn ahead is refused, and asks the store for each send after them", async () => {
    await awayFromWindowEdge();
    const inner = limitsFor(env).store;
    const calls: number[] = [];
    const store: LimitStore = {
      kind: inner.kind,
      id: inner.id,
      // Another room has spent the rest of the budget: the store refuses the draw of four.
      hit: (rule, rate, key, count = 1) => {
        calls.push(count);
        if (count === 4) return Promise.resolve({ allowed: false, limit: rate.limit, remaining: 0, resetAt: Date.now() + 30_000 });
        return inner.hit(rule, rate, key, count);
      },
      check: () => inner.check(),
    };
    const limits = roomLimits(store);
    const who = user();
    await limits.hit("sends", who);
    await limits.hit("sends", who);
    await sleep(20);
    // The token drawn with the lease of two was counted: it is still spent here.
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 0 });
    expect(calls).toEqual([1, 2, 4]);
    // Then each send asks the store again, one token at a time.
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 56 });
    expect(calls).toEqual([1, 2, 4, 1]);
  });

  it("counts unused tokens as spent for other rooms until they are given back, a moment after the last send", async () => {
    await awayFromWindowEdge();
    const limits = roomLimits(countingStore());
    const who = user();
    // Leases of 1, 2 and 4: seven counted, four sent, three held.
    for (let i = 0; i < 4; i++) await limits.hit("sends", who);
    expect(await plainLimits().hit("sends", who)).toMatchObject({ allowed: true, remaining: 52 });
    await sleep(lease.idleMs * 3);
    expect(await plainLimits().hit("sends", who)).toMatchObject({ allowed: true, remaining: 54 });
  });

  it("leaves tokens of a window that ended counted there, and starts the next window with one token", async () => {
    const store = countingStore();
    const limits = roomLimits(store);
    const who = user();
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = (Math.floor(Date.now() / 60_000) + 1) * 60_000;
    vi.setSystemTime(start + 1000);
    for (let i = 0; i < 4; i++) await limits.hit("sends", who);
    // A minute on, the seven counted weigh floor(7 × 59/60) = 6.
    vi.setSystemTime(start + 61_000);
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 53 });
    expect(store.calls).toEqual([1, 2, 4, 1]);
    await sleep(lease.idleMs * 3);
    // Nothing was given back into the new window.
    expect(await plainLimits().hit("sends", who)).toMatchObject({ allowed: true, remaining: 52 });
  });

  it("finds both stores counting a draw larger than what is left, and refusing it, as @upstash/ratelimit's script does: why a room never asks for more", async () => {
    await awayFromWindowEdge();
    const store = limitsFor(env).store;
    const rate = { limit: 5, windowMs: 60_000 };
    const who = user();
    expect(await store.hit("sends", rate, who, 3)).toMatchObject({ allowed: true, remaining: 2 });
    expect(await store.hit("sends", rate, who, 3)).toMatchObject({ allowed: false, remaining: 0 });
    // The three were counted all the same; giving them back makes one fit again.
    expect(await store.hit("sends", rate, who, 1)).toMatchObject({ allowed: false });
    await store.hit("sends", rate, who, -3);
    expect(await store.hit("sends", rate, who, 1)).toMatchObject({ allowed: true, remaining: 1 });
  });

  it("draws one token per send for a user who sends less often than the idle time", async () => {
    await awayFromWindowEdge();
    const store = countingStore();
    const limits = roomLimits(store);
    const who = user();
    for (let i = 0; i < 3; i++) {
      expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 59 - i });
      await sleep(lease.idleMs + 20);
    }
    expect(store.calls).toEqual([1, 1, 1]);
  });
});
