/// <reference types="node" />
/**
 * Bring-your-own sign-in against a real `wrangler dev` configured as a deployment would be:
 * dev mode off, no JWT_SECRET, and `JWKS_URL` pointing at a stand-in identity provider (a real
 * key-set server started here). RS256/ES256 tokens from it work on REST, for socket tickets and
 * in the web app (handed over as `#token=`); a rotated key is picked up; tickets open a socket
 * once and then answer 401.
 */
import { existsSync } from "node:fs";
import { importJWK, SignJWT, type JWK } from "jose";
import { chromium } from "playwright-core";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatClient } from "../../src/client";
import { startDevServer, sleep, type DevServer } from "../../scripts/dev-server";
import { startJwksServer, type JwksServer } from "../setup/jwks-server";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SET = "idp";

interface PrivateKey {
  kid: string;
  alg: "RS256" | "ES256";
  jwk: JWK;
}

let idp: JwksServer;
let server: DevServer;

beforeAll(async () => {
  idp = await startJwksServer();
  server = await startDevServer({ vars: { DEV_MODE: "false", JWKS_URL: idp.setUrl(SET), STAFF_USER_IDS: "" } });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await idp?.close();
});

async function providerKey(alg: "RS256" | "ES256"): Promise<PrivateKey> {
  const { keys } = (await (await fetch(`${idp.url}/sets/${SET}/private`)).json()) as { keys: PrivateKey[] };
  return keys.find((k) => k.alg === alg)!;
}

/** A token as the identity provider would mint it. */
async function providerToken(alg: "RS256" | "ES256", sub: string, name: string, extra: Record<string, unknown> = {}) {
  const key = await providerKey(alg);
  return new SignJWT({ name, kind: "member", ...extra })
    .setProtectedHeader({ alg, kid: key.kid, typ: "JWT" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(await importJWK(key.jwk, alg));
}

const get = (path: string, token?: string) => fetch(`${server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

async function ticket(token: string): Promise<string> {
  const res = await fetch(`${server.url}/api/auth/ticket`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { ticket: string }).ticket;
}

/** Opens a socket; resolves with its first frame, or with the HTTP status that refused it. */
function openSocket(query: string): Promise<{ status: number; first?: Record<string, unknown>; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/parties/room/community?${query}`);
    ws.once("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once("message", (data) => resolve({ status: 101, first: JSON.parse(data.toString()) as Record<string, unknown>, ws }));
    ws.once("error", (err) => (err.message.includes("Unexpected server response") ? undefined : reject(err)));
  });
}

describe("bring your own sign-in, on wrangler dev", () => {
  it("takes RS256 and ES256 tokens from the identity provider and nothing dev mode would", async () => {
    const health = (await (await get("/api/health")).json()) as { status: string; checks: { auth: string } };
    expect(health).toMatchObject({ status: "ok", checks: { auth: expect.stringMatching(/JWKS/) } });
    const dev = await fetch(`${server.url}/api/auth/dev`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: "alice", name: "Alice" }),
    });
    expect(dev.status).toBe(404);

    for (const alg of ["RS256", "ES256"] as const) {
      const res = await get("/api/rooms", await providerToken(alg, `user-${alg}`, `User ${alg}`));
      expect(res.status, alg).toBe(200);
      expect(((await res.json()) as { rooms: { id: string }[] }).rooms.map((r) => r.id), alg).toContain("community");
    }
    // The dev secret is not a key here, and a path is not a user id.
    const devSecret = new TextEncoder().encode("edge-chat-local-development-secret-not-for-production");
    const hs = await new SignJWT({ name: "Eve", kind: "member" }).setProtectedHeader({ alg: "HS256" }).setSubject("eve").setExpirationTime("1h").sign(devSecret);
    expect((await get("/api/rooms", hs)).status).toBe(401);
    expect((await get("/api/rooms", await providerToken("RS256", "../admin", "Eve"))).status).toBe(401);
  });

  it("opens a socket with a ticket from a provider token, once; a reused ticket gets 401", async () => {
    const token = await providerToken("ES256", "carol", "Carol", { roles: ["staff"] });
    const t = await ticket(token);
    const first = await openSocket(`ticket=${t}`);
    expect(first.status).toBe(101);
    expect(first.first).toMatchObject({ type: "welcome", you: { id: "carol", name: "Carol", kind: "member", roles: ["staff"] } });
    first.ws!.close();
    expect((await openSocket(`ticket=${t}`)).status).toBe(401);
    expect((await openSocket(`ticket=${"x".repeat(43)}`)).status).toBe(401);
  });

  it("lets the shipped client connect, send and reconnect with a fresh ticket each time", async () => {
    const client = new ChatClient({ baseUrl: server.url, token: await providerToken("RS256", "dave", "Dave"), WebSocket: WebSocket as never });
    const room = client.room("community");
    try {
      let welcomes = 0;
      room.on("welcome", () => welcomes++);
      const ack = await room.send("hello via a ticket");
      expect(ack.seq).toBeGreaterThan(0);
      // Drop the socket: the reconnect needs (and fetches) a new ticket, as the old one is spent.
      (room as unknown as { ws: { reconnect(code?: number, reason?: string): void } }).ws.reconnect(4000, "test");
      const deadline = Date.now() + 20_000;
      while (welcomes < 2 && Date.now() < deadline) await sleep(100);
      expect(welcomes).toBe(2);
      expect((await room.send("and again after a reconnect")).seq).toBe(ack.seq + 1);
    } finally {
      room.close();
    }
  });

  it("picks up the provider's rotated key within jose's 30 s cooldown", async () => {
    const before = await providerToken("RS256", "erin", "Erin");
    expect((await get("/api/rooms", before)).status).toBe(200);
    await fetch(`${idp.url}/sets/${SET}/rotate`, { method: "POST" });
    const after = await providerToken("RS256", "erin", "Erin");
    // Refused until the cooldown since the last fetch has passed, then fetched once and accepted.
    const deadline = Date.now() + 45_000;
    let status = 0;
    while (Date.now() < deadline && (status = (await get("/api/rooms", after)).status) !== 200) {
      expect(status).toBe(401);
      await sleep(2000);
    }
    expect(status).toBe(200);
    // The old key is gone from the set: its tokens are refused.
    expect((await get("/api/rooms", before)).status).toBe(401);
  }, 90_000);

  it("has the web app take a token handed over as #token= when dev sign-in is off", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is needed at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(err.message));
      const token = await providerToken("ES256", "frank", "Frank");
      await page.goto(`${server.url}/#token=${token}&room=community`);
      await page.locator('.conn[data-state="open"]').waitFor({ timeout: 20_000 });
      // The token left the address at once; the room took its place.
      expect(new URL(page.url()).hash).toBe("#community");
      await page.getByText("@frank").waitFor({ timeout: 5000 });
      await page.getByLabel("Message").fill("signed in by my site");
      await page.getByLabel("Message").press("Enter");
      await page.locator(".list .msg:not(.pending) .text", { hasText: "signed in by my site" }).waitFor({ timeout: 15_000 });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
