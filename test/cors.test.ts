import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app from "../src/app";
import { BASE, openSocket, tokenFor, uniqueId } from "./helpers";

const SHOP = "https://shop.example";
const EXPOSED = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"];

/** The Worker as deployed with these origins allowed (dev mode off: no localhost origins). */
function deployed(allowed: string, extra: Record<string, string> = {}) {
  return { ...env, DEV_MODE: "false", JWT_SECRET: "a-configured-secret-for-cors-tests-0123456789", ALLOWED_ORIGINS: allowed, ...extra };
}

async function tokenOf(userId: string) {
  const { signToken } = await import("../src/lib/jwt");
  const secret = deployed("").JWT_SECRET;
  return signToken({ sub: userId, name: userId, kind: "member", exp: Math.floor(Date.now() / 1000) + 600 }, secret);
}

function preflight(origin: string, method = "POST", headers = "authorization, content-type") {
  return new Request(`${BASE}/api/rooms/group`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
  });
}

const corsHeaders = (res: Response) =>
  [...res.headers.keys()].filter((name) => name.startsWith("access-control-")).sort();

describe("CORS on /api/*", () => {
  it("answers a preflight from an allowed origin with 204, the methods and the headers, no credentials", async () => {
    const res = await app.request(preflight(SHOP), undefined, deployed(`https://other.example, ${SHOP}`));
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(res.headers.get("access-control-allow-methods")?.split(",")).toEqual(
      expect.arrayContaining(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    );
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase().split(",")).toEqual(
      expect.arrayContaining(["authorization", "content-type"]),
    );
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("vary")).toMatch(/origin/i);
  });

  it("refuses a preflight from any other origin with 403 and no CORS headers", async () => {
    const res = await app.request(preflight("https://evil.example"), undefined, deployed(SHOP));
    expect(res.status).toBe(403);
    expect(corsHeaders(res)).toEqual([]);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
  });

  it("gives an allowed origin's request the origin and the rate-limit headers to read", async () => {
    const res = await app.request(
      `${BASE}/api/search?q=hello`,
      { headers: { origin: SHOP, authorization: `Bearer ${await tokenOf(uniqueId("cors"))}` } },
      deployed(SHOP),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(res.headers.get("access-control-expose-headers")?.split(",")).toEqual(EXPOSED);
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(res.headers.get("vary")).toMatch(/origin/i);
    expect(res.headers.get("x-ratelimit-limit")).not.toBeNull();
  });

  it("puts the CORS headers on errors too: 401, 404 and 429 with Retry-After", async () => {
    const config = deployed(SHOP, { RATE_SEARCHES: "1/1m" });
    const unauthorized = await app.request(`${BASE}/api/rooms`, { headers: { origin: SHOP } }, config);
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(unauthorized.headers.get("access-control-expose-headers")).toContain("Retry-After");

    const missing = await app.request(`${BASE}/api/nowhere`, { headers: { origin: SHOP } }, config);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("access-control-allow-origin")).toBe(SHOP);

    const token = await tokenOf(uniqueId("cors"));
    const search = () =>
      app.request(`${BASE}/api/search?q=hello`, { headers: { origin: SHOP, authorization: `Bearer ${token}` } }, config);
    expect((await search()).status).toBe(200);
    const limited = await search();
    expect(limited.status).toBe(429);
    expect(limited.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(limited.headers.get("retry-after")).not.toBeNull();
    expect(limited.headers.get("access-control-expose-headers")?.split(",")).toEqual(EXPOSED);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
  });

  it("gives no CORS headers to other origins, to the Worker's own origin or without Origin", async () => {
    const token = `Bearer ${await tokenOf(uniqueId("cors"))}`;
    for (const origin of ["https://evil.example", new URL(BASE).origin, undefined]) {
      const headers: Record<string, string> = { authorization: token };
      if (origin) headers.origin = origin;
      const res = await app.request(`${BASE}/api/rooms`, { headers }, deployed(SHOP));
      expect(res.status).toBe(200);
      expect(corsHeaders(res)).toEqual([]);
      expect(res.headers.get("vary")).toMatch(/origin/i);
    }
  });

  it("answers `*` to any origin when ALLOWED_ORIGINS is *", async () => {
    const res = await app.request(preflight("https://anyone.example", "DELETE"), undefined, deployed("*"));
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const get = await app.request(`${BASE}/api/health`, { headers: { origin: "https://anyone.example" } }, deployed("*"));
    expect(get.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("reads ALLOWED_ORIGINS as origins (a trailing slash or capitals do not matter) and dev mode's localhost", async () => {
    const res = await app.request(preflight(SHOP), undefined, deployed("https://Shop.Example/"));
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    // The workers project runs in dev mode: any localhost port, as `npm start` serves a dev front end.
    const local = await app.request(preflight("http://localhost:5173"), undefined, env);
    expect(local.status).toBe(204);
    expect(local.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    const notDev = await app.request(preflight("http://localhost:5173"), undefined, deployed(SHOP));
    expect(notDev.status).toBe(403);
  });

  it("shares that reading with the socket's Origin check", async () => {
    const room = "community";
    const token = await tokenFor("alice");
    expect((await openSocket(room, token, { origin: "https://evil.example" })).status).toBe(403);
    const res = await openSocket(room, token, { origin: "http://localhost:5173" });
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    res.webSocket!.close();
    // Sockets are not /api/*: no CORS headers on the refusal (browsers do not use CORS for sockets).
    const refused = await openSocket(room, token, { origin: "https://evil.example" });
    expect(corsHeaders(refused)).toEqual([]);
  });
});
