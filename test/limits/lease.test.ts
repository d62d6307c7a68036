import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readConfig, type Rate } from "../../src/config";
import { Limits, limitsFor } from "../../src/limits";
import type { LimitResult } from "../../src/limits/sliding";
import { Outage, type LimitStore } from "../../src/limits/store";
import { BACKEND, awayFromWindowEdge } from "./helpers";

const rates = readConfig(env).rates;
const lease = { max: 16, idleMs: 100 };

type Forward = () => Promise<LimitResult>;

/**
 * The project's store with each hit passed through `through`, which may hold it, answer or fail
 * it itself, or `forward` it to the store; `calls` records the count each hit asked for.
 */
function storeWith(
  through: (count: number, rate: Rate, forward: Forward) => Promise<LimitResult> = (_count, _rate, forward) => forward(),
  id?: string,
): LimitStore & { calls: number[] } {
  const inner = limitsFor(env).store;
  const calls: number[] = [];
  return {
    kind: inner.kind,
    id: id ?? inner.id,
    calls,
    hit: (rule, rate, key, count = 1) => {
      calls.push(count);
      return through(count, rate, () => inner.hit(rule, rate, key, count));
    },
    check: () => inner.check(),
  };
}

/** The project's store, counting the calls made to it. */
const countingStore = () => storeWith();

/** The project's store, with a switch that holds its answers until they are let go, in order. */
function holdingStore() {
  const held: Array<() => void> = [];
  let holding = false;
  const store = storeWith(async (_count, _rate, forward) => {
    if (holding) await new Promise<void>((go) => held.push(go));
    return forward();
  });
  return {
    store,
    calls: store.calls,
    hold: () => void (holding = true),
    /** Lets every held answer go and answers from now on. */
    release: async () => {
      holding = false;
      held.splice(0).forEach((go) => go());
      await sleep(20);
    },
    held: () => held.length,
  };
}

/** A hit, and whether it has been answered yet. */
function pending(limits: Limits, who: string) {
  const hit = { answer: null as LimitResult | null, done: limits.hit("sends", who) };
  void hit.done.then((r) => (hit.answer = r));
  return hit;
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

  it("answers a steady sender without waiting for the store after the first send: the second ahead of its draw, the rest from tokens in hand while the next lease is drawn", async () => {
    await awayFromWindowEdge();
    // Draws of more than one token are held until the test lets them go.
    const held: Array<() => void> = [];
    const store = storeWith(async (count, _rate, forward) => {
      if (count > 1) await new Promise<void>((go) => held.push(go));
      return forward();
    });
    const { calls } = store;
    const limits = roomLimits(store);
    const who = user();
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 59 });
    // The store said 59 were left: the second is answered at once, its draw of two (made in
    // the next task) still held.
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 58 });
    await sleep(10);
    expect(calls).toEqual([1, 2]);
    expect(held).toHaveLength(1);
    // The third has no token in hand and a draw in flight: it waits for it, as in order.
    let third: unknown = null;
    const waiting = limits.hit("sends", who).then((r) => (third = r));
    await sleep(20);
    expect(third).toBeNull();
    held.shift()!();
    await waiting;
    // It spent the second token of the two: half of the lease, so four are drawn ahead.
    expect(third).toMatchObject({ allowed: true, remaining: 57 });
    expect(calls).toEqual([1, 2, 4]);
    held.shift()!();
    await sleep(20);
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 56 });
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 55 });
    // Half of the four spent: eight on their way while the user spends the rest.
    expect(calls).toEqual([1, 2, 4, 8]);
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 54 });
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 53 });
    held.shift()!();
  });

  it("answers a send at once while the store last said more than half the budget was left, and the store counts it all the same", async () => {
    await awayFromWindowEdge();
    const { store, calls, hold, release, held } = holdingStore();
    const limits = roomLimits(store);
    const who = user();
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 59 });
    await sleep(lease.idleMs + 20);
    hold();
    const resetAt = (Math.floor(Date.now() / 60_000) + 1) * 60_000;
    // Answered before its draw is even asked for (the next task), let alone answered.
    expect(await limits.hit("sends", who)).toEqual({ allowed: true, limit: 60, remaining: 58, resetAt });
    expect(calls).toEqual([1]);
    await sleep(10);
    expect(held()).toBe(1);
    await release();
    expect(calls).toEqual([1, 1]);
    expect(await plainLimits().hit("sends", who)).toMatchObject({ allowed: true, remaining: 57 });
  });

  it("waits for the store once a send would leave half the budget or less: past half, the store decides every send", async () => {
    await awayFromWindowEdge();
    const { store, hold, release } = holdingStore();
    const limits = roomLimits(store);
    const who = user();
    // 28 sent elsewhere; the room's first send asks the store, which says 31 are left.
    for (let i = 0; i < 28; i++) await plainLimits().hit("sends", who);
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 31 });
    await sleep(lease.idleMs + 20);
    hold();
    // 31 left: this one leaves 30, half the budget, and is answered ahead.
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 30 });
    await release();
    await sleep(lease.idleMs + 20);
    hold();
    // 30 left: this one would leave less than half, so it waits for the store.
    const next = pending(limits, who);
    await sleep(50);
    expect(next.answer).toBeNull();
    await release();
    expect(await next.done).toMatchObject({ allowed: true, remaining: 29 });
  });

  it("lets at most one send per room past the budget when other rooms spent it meanwhile, and refuses the next", async () => {
    await awayFromWindowEdge();
    const { store, calls } = holdingStore();
    const limits = roomLimits(store);
    const who = user();
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 59 });
    await sleep(lease.idleMs + 20);
    // The other 59 are spent in other rooms: this room last heard 59 were left.
    for (let i = 0; i < 59; i++) await plainLimits().hit("sends", who);
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 58 });
    await sleep(20);
    // Its draw was refused, so the room knows: the next send waits for the store, which refuses.
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: false, remaining: 0 });
    expect(calls).toEqual([1, 1, 1]);
  });

  it("answers by the outage policy once the store stops answering, even a user it knew far from the limit", async () => {
    await awayFromWindowEdge();
    let down = false;
    const store = storeWith(
      (_count, _rate, forward) => (down ? Promise.reject(new Outage("down for the test")) : forward()),
      // Its own id: the pause after an outage is per store.
      `lease-outage-${crypto.randomUUID()}`,
    );
    const limits = roomLimits(store);
    const who = user();
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 59 });
    await sleep(lease.idleMs + 20);
    down = true;
    // The first send after the store went down was answered ahead; its draw found the outage
    // and was counted on the local budget. From then on the outage policy answers each send.
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 58 });
    await sleep(20);
    const after = await limits.hit("sends", who);
    expect(after).toMatchObject({ allowed: true, outage: true, remaining: 58 });
  });

  it("keeps the tokens in hand when a lease drawn ahead is refused, and asks the store for each send after them", async () => {
    await awayFromWindowEdge();
    // Another room has spent the rest of the budget: the store refuses the draw of eight.
    const store = storeWith((count, rate, forward) =>
      count === 8 ? Promise.resolve({ allowed: false, limit: rate.limit, remaining: 0, resetAt: Date.now() + 30_000 }) : forward(),
    );
    const { calls } = store;
    const limits = roomLimits(store);
    const who = user();
    // Leases of 1, 2 and 4; the fifth send spends half of the four and draws eight, refused.
    for (let i = 0; i < 5; i++) {
      await limits.hit("sends", who);
      await sleep(10);
    }
    expect(calls).toEqual([1, 2, 4, 8]);
    // The two tokens left of the four were counted: they are still spent here.
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 1 });
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 0 });
    // Then each send asks the store again, one token at a time (seven counted, seven sent).
    expect(await limits.hit("sends", who)).toMatchObject({ allowed: true, remaining: 52 });
    expect(calls).toEqual([1, 2, 4, 8, 1]);
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

  it("starts a user back from a pause at half their last lease, down to one token over a few sends now and then", async () => {
    await awayFromWindowEdge();
    const store = countingStore();
    const limits = roomLimits(store);
    const who = user();
    // A burst: leases of 1, 2, 4 and 8.
    for (let i = 0; i < 8; i++) await limits.hit("sends", who);
    await sleep(20);
    expect(store.calls).toEqual([1, 2, 4, 8]);
    // Each send after a pause draws half the last lease; the rest goes back once idle.
    for (let i = 0; i < 4; i++) {
      await sleep(lease.idleMs * 3);
      await limits.hit("sends", who);
    }
    await sleep(lease.idleMs * 3);
    expect(store.calls.filter((c) => c > 0)).toEqual([1, 2, 4, 8, 4, 2, 1, 1]);
    // Counted exactly what was sent: 15 drawn for the burst, 7 left then given back, and so on.
    expect(await plainLimits().hit("sends", who)).toMatchObject({ allowed: true, remaining: 60 - 12 - 1 });
  });
});
