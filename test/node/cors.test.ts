/// <reference types="node" />
/**
 * CORS as a browser meets it: through `wrangler dev` (its proxy in front of the Worker) with
 * ALLOWED_ORIGINS set. The rules themselves are tested in workerd (test/cors.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../scripts/dev-server";

const SHOP = "https://shop.example";

let server: DevServer;
beforeAll(async () => {
  server = await startDevServer({ vars: { ALLOWED_ORIGINS: SHOP } });
});
afterAll(async () => {
  await server?.stop();
});

describe("CORS through wrangler dev", () => {
  it("answers an allowed origin's preflight, and refuses another's without CORS headers", async () => {
    const ask = (origin: string) =>
      fetch(`${server.url}/api/rooms/group`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
      });
    const allowed = await ask(SHOP);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(allowed.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(allowed.headers.get("access-control-allow-methods")).toContain("POST");
    expect(allowed.headers.get("access-control-allow-credentials")).toBeNull();

    const refused = await ask("https://evil.example");
    expect(refused.status).toBe(403);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    expect(refused.headers.get("access-control-allow-methods")).toBeNull();
  });

  it("lets the page read answers and errors: the origin, and the rate-limit headers exposed", async () => {
    const login = await fetch(`${server.url}/api/auth/dev`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: SHOP },
      body: JSON.stringify({ userId: "shopper", name: "Shopper" }),
    });
    expect(login.status).toBe(200);
    expect(login.headers.get("access-control-allow-origin")).toBe(SHOP);
    const { token } = (await login.json()) as { token: string };

    const sent = await fetch(`${server.url}/api/rooms/community/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: SHOP, authorization: `Bearer ${token}` },
      body: JSON.stringify({ clientId: "c-1", text: "hello from the shop" }),
    });
    expect(sent.status).toBe(201);
    expect(sent.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(sent.headers.get("access-control-expose-headers")).toBe("X-RateLimit-Limit,X-RateLimit-Remaining,X-RateLimit-Reset,Retry-After");
    expect(sent.headers.get("x-ratelimit-remaining")).not.toBeNull();

    const refused = await fetch(`${server.url}/api/rooms`, { headers: { origin: SHOP } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(SHOP);
  });

  it("adds nothing for the Worker's own pages", async () => {
    const res = await fetch(`${server.url}/api/health`, { headers: { origin: server.url } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});
