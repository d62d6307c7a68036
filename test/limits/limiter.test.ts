import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PERSIST_MS } from "../../src/limits/Limiter";

const rate = { limit: 5, windowMs: 60_000 };
const limiter = () => env.LIMITER.get(env.LIMITER.idFromName(`test:${crypto.randomUUID()}`));

describe("The embedded Limiter object", () => {
  it("keeps its counts across an eviction once they are written, at most a second after the hit", async () => {
    const stub = limiter();
    const now = Date.now();
    for (let i = 0; i < 5; i++) expect((await stub.hit(rate, now)).allowed).toBe(true);
    await new Promise((r) => setTimeout(r, PERSIST_MS + 200));
    await evictDurableObject(stub);
    expect(await stub.hit(rate, now)).toMatchObject({ allowed: false, remaining: 0 });
  });

  it("deletes what it stored once its key was left alone for two windows", async () => {
    const stub = limiter();
    const longAgo = Date.now() - 3 * rate.windowMs;
    await stub.hit(rate, longAgo);
    await new Promise((r) => setTimeout(r, PERSIST_MS + 200));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const rows = await runInDurableObject(stub, (_l, state) => state.storage.sql.exec("SELECT * FROM sliding").toArray());
    expect(rows).toEqual([]);
    expect(await stub.hit(rate, Date.now())).toMatchObject({ allowed: true, remaining: 4 });
  });
});
