import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app from "../../src/app";
import { parseRate } from "../../src/config";
import { tokenFor } from "../helpers";
import { BACKEND } from "./helpers";

describe("Budget settings", () => {
  it("read count/window with s, m or h, and off", () => {
    expect(parseRate("60/1m", "1/1s")).toEqual({ limit: 60, windowMs: 60_000 });
    expect(parseRate(" 10 / 15m ", "1/1s")).toEqual({ limit: 10, windowMs: 900_000 });
    expect(parseRate("5/2h", "1/1s")).toEqual({ limit: 5, windowMs: 7_200_000 });
    expect(parseRate("240/30s", "1/1s")).toEqual({ limit: 240, windowMs: 30_000 });
    expect(parseRate("OFF", "1/1s")).toBeNull();
  });

  it("fall back to the default for anything else, never to no limit", () => {
    for (const bad of [undefined, "", "60", "60/m", "0/1m", "-1/1m", "60/0s", "60/1d", "1e3/1m", "sixty/1m"]) {
      expect(parseRate(bad, "60/1m")).toEqual({ limit: 60, windowMs: 60_000 });
    }
  });
});

describe(`A budget set to off (${BACKEND})`, () => {
  it("counts nothing and sends no X-RateLimit headers", async () => {
    const offEnv = { ...env, RATE_SEARCHES: "off" };
    const token = await tokenFor(`off-${crypto.randomUUID()}`);
    for (let i = 0; i < 61; i++) {
      const res = await app.request("/api/search?q=hello", { headers: { authorization: `Bearer ${token}` } }, offEnv);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ratelimit-limit")).toBeNull();
    }
  });
});
