/**
 * The token matrix from the contract's "Identity" section, on REST (Authorization: Bearer)
 * and on the room socket (`?token=`). Hostile tokens are built by hand here — base64url
 * header and payload, HMAC from WebCrypto — never with the project's own signer, so a bug in
 * the signer cannot hide a bug in the verifier.
 *
 * RS256 and ES256 tokens come from a stand-in identity provider, a real HTTP server with key
 * sets (test/setup/jwks-server.ts): signed with its private keys through jose (the verifier's
 * library, but not the project's code), or forged by hand as above. Its cache is tested on
 * jose's clock (Date.now), moved on with a spy: the production cache settings, no waiting.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import app from "../src/app";
import { JWKS_CACHE, verifyToken } from "../src/lib/jwt";
import { DEV_JWT_SECRET } from "../src/middleware/auth";
import type { Room } from "../src/room/Room";
import { api, openSocket, partsOf, roomStubOf, uniqueId, uniqueRoom } from "./helpers";

const encoder = new TextEncoder();
const now = () => Math.floor(Date.now() / 1000);

function b64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
const b64json = (value: unknown) => b64url(encoder.encode(JSON.stringify(value)));

async function hmac(hash: "SHA-256" | "SHA-512", secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash }, false, ["sign"]);
  return b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data))));
}

type Json = Record<string, unknown>;
interface Forge {
  header?: Json;
  payload?: Json;
  secret?: string;
  hash?: "SHA-256" | "SHA-512";
}

const goodPayload = (extra: Json = {}): Json => ({
  sub: "mallory",
  name: "Mallory",
  kind: "member",
  exp: now() + 3600,
  ...extra,
});

/** A token signed by hand: HS256 with the dev secret unless told otherwise. */
async function forge({ header = { alg: "HS256", typ: "JWT" }, payload = goodPayload(), secret = DEV_JWT_SECRET, hash = "SHA-256" }: Forge = {}) {
  const signingInput = `${b64json(header)}.${b64json(payload)}`;
  return `${signingInput}.${await hmac(hash, secret, signingInput)}`;
}

function without(payload: Json, key: string): Json {
  const copy = { ...payload };
  delete copy[key];
  return copy;
}

interface Case {
  name: string;
  token: () => Promise<string | null>;
}

/** A group room whose only member is the subject of the forged tokens. */
let room = "";
beforeAll(async () => {
  room = await uniqueRoom("jwt", ["mallory"]);
});

/** Every token here must be refused with 401. `null` means "no token at all". */
const refused: Case[] = [
  { name: "no token at all", token: async () => null },
  { name: "an empty token", token: async () => "" },
  { name: "a token that is not three parts", token: async () => "not-a-jwt" },
  { name: "a token with two parts", token: async () => `${b64json({ alg: "HS256" })}.${b64json(goodPayload())}` },
  {
    name: "a token with four parts",
    token: async () => `${await forge()}.${b64url(encoder.encode("extra"))}`,
  },
  {
    name: "a token whose parts are not base64url",
    token: async () => "eyJ!!!.eyJ***.c2ln",
  },
  {
    name: "a token whose header is not JSON",
    token: async () => {
      const input = `${b64url(encoder.encode("{alg:HS256"))}.${b64json(goodPayload())}`;
      return `${input}.${await hmac("SHA-256", DEV_JWT_SECRET, input)}`;
    },
  },
  {
    name: "a token whose payload is a JSON array",
    token: async () => {
      const input = `${b64json({ alg: "HS256" })}.${b64url(encoder.encode("[1,2,3]"))}`;
      return `${input}.${await hmac("SHA-256", DEV_JWT_SECRET, input)}`;
    },
  },
  {
    name: "a token with a signature part of impossible base64url length",
    // 5 characters: no base64 string has length 1 modulo 4.
    token: async () => `${b64json({ alg: "HS256", typ: "JWT" })}.${b64json(goodPayload())}.abcde`,
  },
  {
    name: "alg none with an empty signature",
    token: async () => `${b64json({ alg: "none", typ: "JWT" })}.${b64json(goodPayload())}.`,
  },
  {
    name: "alg None (mixed case) with an empty signature",
    token: async () => `${b64json({ alg: "None", typ: "JWT" })}.${b64json(goodPayload())}.`,
  },
  {
    name: "alg none carrying a valid HS256 signature",
    token: () => forge({ header: { alg: "none", typ: "JWT" } }),
  },
  { name: "a header without alg", token: () => forge({ header: { typ: "JWT" } }) },
  {
    name: "alg HS512 signed with HMAC-SHA-512 and the right secret",
    token: () => forge({ header: { alg: "HS512", typ: "JWT" }, hash: "SHA-512" }),
  },
  {
    name: "an RS256 header over an HMAC-SHA-256 signature (algorithm confusion)",
    token: () => forge({ header: { alg: "RS256", typ: "JWT" } }),
  },
  { name: "a signature made with another secret", token: () => forge({ secret: "not-the-server-secret" }) },
  {
    name: "a valid token whose payload was changed after signing",
    token: async () => {
      const [header, , signature] = (await forge()).split(".");
      return `${header}.${b64json(goodPayload({ sub: "admin" }))}.${signature}`;
    },
  },
  {
    name: "a valid token with its signature cut short",
    token: async () => (await forge()).slice(0, -4),
  },
  { name: "a token without exp", token: () => forge({ payload: without(goodPayload(), "exp") }) },
  { name: "a token whose exp is a string", token: () => forge({ payload: goodPayload({ exp: String(now() + 3600) }) }) },
  { name: "an expired token", token: () => forge({ payload: goodPayload({ exp: now() - 3600 }) }) },
  { name: "a token whose nbf is an hour away", token: () => forge({ payload: goodPayload({ nbf: now() + 3600 }) }) },
  { name: "a token whose nbf is not a number", token: () => forge({ payload: goodPayload({ nbf: "soon" }) }) },
  { name: "a token without sub", token: () => forge({ payload: without(goodPayload(), "sub") }) },
  { name: "a token whose sub is a path (../admin)", token: () => forge({ payload: goodPayload({ sub: "../admin" }) }) },
  { name: "a token whose sub has a dot", token: () => forge({ payload: goodPayload({ sub: "mal.lory" }) }) },
  { name: "a token whose sub is 65 characters", token: () => forge({ payload: goodPayload({ sub: "m".repeat(65) }) }) },
  { name: "a token whose sub is a number", token: () => forge({ payload: goodPayload({ sub: 42 }) }) },
  { name: "a token whose name is empty", token: () => forge({ payload: goodPayload({ name: "  " }) }) },
  { name: "a token whose roles is a string", token: () => forge({ payload: goodPayload({ roles: "admin" }) }) },
  { name: "a token whose roles hold a non-string", token: () => forge({ payload: goodPayload({ roles: ["staff", 1] }) }) },
  { name: "a token with an unknown kind", token: () => forge({ payload: goodPayload({ kind: "admin" }) }) },
];

function expectUnauthorizedBody(body: unknown) {
  expect(body).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
}

async function restWith(token: string | null, headerValue?: string) {
  const headers = new Headers();
  if (headerValue !== undefined) headers.set("authorization", headerValue);
  else if (token !== null) headers.set("authorization", `Bearer ${token}`);
  return api(`/api/rooms/${room}/messages`, { headers });
}

describe("tokens on REST (Authorization: Bearer)", () => {
  for (const c of refused) {
    it(`refuses ${c.name} with 401 in the contract's error shape`, async () => {
      const res = await restWith(await c.token());
      expect(res.status).toBe(401);
      expectUnauthorizedBody(await res.json());
    });
  }

  it("refuses an Authorization header that is not a Bearer token", async () => {
    const token = await forge();
    for (const header of [`Basic ${btoa("alice:secret")}`, "Bearer", `Token ${token}`, `Bearer ${token} extra`]) {
      const res = await restWith(null, header);
      expect(res.status, header).toBe(401);
      expectUnauthorizedBody(await res.json());
    }
  });

  it("accepts a correctly signed, unexpired HS256 token with 200", async () => {
    const res = await restWith(await forge());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ messages: [], nextBefore: null });
  });

  it("keeps the roles it knows from the roles claim and ignores the identity provider's others", async () => {
    const res = await app.request(
      "/api/auth/ticket",
      { method: "POST", headers: { authorization: `Bearer ${await forge({ payload: goodPayload({ roles: ["owner", "staff", "staff", "user"] }) })}` } },
      env,
    );
    expect(res.status).toBe(200);
    const { ticket } = (await res.json()) as { ticket: string };
    const socket = await app.request(`/parties/room/${room}?ticket=${ticket}`, { headers: { upgrade: "websocket" } }, env);
    expect(socket.status).toBe(101);
    const ws = socket.webSocket!;
    const first = new Promise<string>((resolve) => ws.addEventListener("message", (e) => resolve(String(e.data))));
    ws.accept();
    expect(JSON.parse(await first)).toMatchObject({ type: "welcome", you: { id: "mallory", roles: ["staff"] } });
    ws.close(1000, "done");
  });

  it("accepts a token whose nbf is in the past", async () => {
    const res = await restWith(await forge({ payload: goodPayload({ nbf: now() - 60 }) }));
    expect(res.status).toBe(200);
  });

  it("does not accept a token from the query string on REST", async () => {
    const res = await api(`/api/rooms/${room}/messages?token=${encodeURIComponent(await forge())}`);
    expect(res.status).toBe(401);
    expectUnauthorizedBody(await res.json());
  });
});

describe("tokens on the room socket (?token=)", () => {
  for (const c of refused) {
    it(`refuses the upgrade for ${c.name} with 401 and opens no socket`, async () => {
      const res = await openSocket(room, await c.token());
      expect(res.status).toBe(401);
      expect(res.webSocket).toBeNull();
      expectUnauthorizedBody(await res.json());
    });
  }

  it("opens the socket for a correctly signed token and welcomes its subject", async () => {
    const res = await openSocket(room, await forge());
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const first = new Promise<string>((resolve) => ws.addEventListener("message", (e) => resolve(String(e.data))));
    ws.accept();
    expect(JSON.parse(await first)).toMatchObject({
      type: "welcome",
      room: { id: room },
      you: { id: "mallory", name: "Mallory", kind: "member" },
    });
    ws.close(1000, "done");
  });

  it("does not accept a token from the Authorization header on the socket", async () => {
    const res = await openSocket(room, null, { authorization: `Bearer ${await forge()}` });
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeNull();
  });
});

describe("issuer and audience, where configured", () => {
  const path = () => `/api/rooms/${room}/messages`;
  const call = async (token: string, vars: Record<string, string>) =>
    app.request(path(), { headers: { authorization: `Bearer ${token}` } }, { ...env, ...vars });

  it("refuses a token without iss, or with another iss, when JWT_ISSUER is set", async () => {
    const vars = { JWT_ISSUER: "https://issuer.example" };
    for (const payload of [goodPayload(), goodPayload({ iss: "https://evil.example" }), goodPayload({ iss: ["https://issuer.example"] })]) {
      const res = await call(await forge({ payload }), vars);
      expect(res.status, JSON.stringify(payload.iss)).toBe(401);
      expectUnauthorizedBody(await res.json());
    }
  });

  it("accepts a token with the configured iss", async () => {
    const res = await call(await forge({ payload: goodPayload({ iss: "https://issuer.example" }) }), {
      JWT_ISSUER: "https://issuer.example",
    });
    expect(res.status).toBe(200);
  });

  it("refuses a token without aud, or with another aud, when JWT_AUDIENCE is set", async () => {
    const vars = { JWT_AUDIENCE: "edge-chat" };
    for (const payload of [goodPayload(), goodPayload({ aud: "other-app" }), goodPayload({ aud: ["other-app", "third"] })]) {
      const res = await call(await forge({ payload }), vars);
      expect(res.status, JSON.stringify(payload.aud)).toBe(401);
      expectUnauthorizedBody(await res.json());
    }
  });

  it("accepts a token whose aud is the configured audience or a list containing it", async () => {
    const vars = { JWT_AUDIENCE: "edge-chat" };
    for (const aud of ["edge-chat", ["other-app", "edge-chat"]]) {
      const res = await call(await forge({ payload: goodPayload({ aud }) }), vars);
      expect(res.status, JSON.stringify(aud)).toBe(200);
    }
  });

  it("refuses a socket upgrade whose token has the wrong iss when JWT_ISSUER is set", async () => {
    const token = await forge({ payload: goodPayload({ iss: "https://evil.example" }) });
    const res = await app.request(
      `/parties/room/${room}?token=${encodeURIComponent(token)}`,
      { headers: { upgrade: "websocket" } },
      { ...env, JWT_ISSUER: "https://issuer.example" },
    );
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeNull();
    expectUnauthorizedBody(await res.json());
  });

  it("verifyToken checks iss and aud only when asked to", async () => {
    const token = await forge({ payload: goodPayload({ iss: "a", aud: "b" }) });
    await expect(verifyToken(token, { secret: DEV_JWT_SECRET })).resolves.toMatchObject({ sub: "mallory" });
    await expect(verifyToken(token, { secret: DEV_JWT_SECRET }, { issuer: "a", audience: "b" })).resolves.toMatchObject({ sub: "mallory" });
    await expect(verifyToken(token, { secret: DEV_JWT_SECRET }, { issuer: "x" })).rejects.toThrow(/issuer/);
    await expect(verifyToken(token, { secret: DEV_JWT_SECRET }, { audience: "x" })).rejects.toThrow(/audience/);
  });
});

describe("which secret signs", () => {
  it("refuses a dev-secret token once the Worker has its own JWT_SECRET", async () => {
    const res = await app.request(
      `/api/rooms/${room}/messages`,
      { headers: { authorization: `Bearer ${await forge()}` } },
      { ...env, JWT_SECRET: "a-real-production-secret" },
    );
    expect(res.status).toBe(401);
    expectUnauthorizedBody(await res.json());
  });

  it("accepts a token signed with the configured JWT_SECRET", async () => {
    const secret = "a-real-production-secret";
    const res = await app.request(
      `/api/rooms/${room}/messages`,
      { headers: { authorization: `Bearer ${await forge({ secret })}` } },
      { ...env, JWT_SECRET: secret },
    );
    expect(res.status).toBe(200);
  });

  it("refuses every token when dev mode is off and no JWT_SECRET is set", async () => {
    const res = await app.request(
      `/api/rooms/${room}/messages`,
      { headers: { authorization: `Bearer ${await forge()}` } },
      { ...env, DEV_MODE: "false" },
    );
    expect(res.status).toBe(401);
    expectUnauthorizedBody(await res.json());
  });
});

// ---- RS256 and ES256 from the identity provider's key set (JWKS_URL) ---------------------------

/**
 * Key sets from the stand-in identity provider (test/setup/jwks-server.ts), one per test so no
 * test shares the Worker's per-URL cache with another. Requests go through `app.request` with
 * JWKS_URL set for that request only.
 */
const JWKS = env.TEST_JWKS_URL!;

interface PrivateKey {
  kid: string;
  alg: "RS256" | "ES256";
  jwk: JWK;
  publicPem: string;
}

function keySet() {
  const name = uniqueId("set");
  const base = `${JWKS}/sets/${name}`;
  const control = async (path: string, method = "GET") => (await fetch(`${base}/${path}`, { method })).json();
  return {
    url: `${base}/jwks.json`,
    key: async (alg: "RS256" | "ES256") => ((await control("private")) as { keys: PrivateKey[] }).keys.find((k) => k.alg === alg)!,
    rotate: async (keep = false) => control(`rotate${keep ? "?keep=1" : ""}`, "POST"),
    fail: async (status: number | "") => control(`fail?status=${status}`, "POST"),
    fetches: async () => ((await control("stats")) as { fetches: number }).fetches,
  };
}

/** A token signed with one of the set's private keys; the header says what `header` says. */
async function signWith(key: PrivateKey, payload: Json = goodPayload(), header: Json = {}) {
  const signing = await importJWK(key.jwk, key.alg);
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT", ...header }).sign(signing);
}

async function withKeySet(set: { url: string }, token: string, vars: Record<string, string> = {}) {
  return app.request(`/api/rooms/${room}/messages`, { headers: { authorization: `Bearer ${token}` } }, { ...env, JWKS_URL: set.url, ...vars });
}

/** jose's cache clock: Date.now, moved on by `ms` (token expiry is checked on the real clock). */
function later(ms: number) {
  const real = Date.now.bind(Date);
  vi.spyOn(Date, "now").mockImplementation(() => real() + ms);
}

describe("tokens from the identity provider's key set (JWKS_URL)", () => {
  afterEach(() => vi.restoreAllMocks());

  it("accepts RS256 and ES256 tokens signed with the set's keys, on REST and the socket", async () => {
    const set = keySet();
    for (const alg of ["RS256", "ES256"] as const) {
      const res = await withKeySet(set, await signWith(await set.key(alg)));
      expect(res.status, alg).toBe(200);
    }
    const token = await signWith(await set.key("ES256"));
    const res = await app.request(`/parties/room/${room}?token=${token}`, { headers: { upgrade: "websocket" } }, { ...env, JWKS_URL: set.url });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const first = new Promise<string>((resolve) => ws.addEventListener("message", (e) => resolve(String(e.data))));
    ws.accept();
    expect(JSON.parse(await first)).toMatchObject({ type: "welcome", you: { id: "mallory", name: "Mallory", kind: "member" } });
    ws.close(1000, "done");
  });

  it("accepts a token without kid when one key of its type fits, and HS256 with the secret beside the set", async () => {
    const set = keySet();
    const rsa = await set.key("RS256");
    const noKid = await new SignJWT(goodPayload()).setProtectedHeader({ alg: "RS256" }).sign(await importJWK(rsa.jwk, "RS256"));
    expect((await withKeySet(set, noKid)).status).toBe(200);
    expect((await withKeySet(set, await forge())).status).toBe(200);
  });

  it("finds the right key among several of one type when the token has no kid (a rollover)", async () => {
    const set = keySet();
    const old = await set.key("RS256");
    await set.rotate(true);
    const current = await set.key("RS256");
    expect(current.kid).not.toBe(old.kid);
    for (const key of [old, current]) {
      const token = await new SignJWT(goodPayload()).setProtectedHeader({ alg: "RS256" }).sign(await importJWK(key.jwk, "RS256"));
      expect((await withKeySet(set, token)).status, key.kid).toBe(200);
    }
    const stranger = await generateKeyPair("RS256");
    const forged = await new SignJWT(goodPayload()).setProtectedHeader({ alg: "RS256" }).sign(stranger.privateKey);
    expect((await withKeySet(set, forged)).status).toBe(401);
  });

  const refusedWithSet: { name: string; token: (set: ReturnType<typeof keySet>) => Promise<string> }[] = [
    {
      // Algorithm confusion: the RSA public key (which anyone may fetch) used as an HMAC secret.
      name: "an RS256 key's token whose header says HS256 (HMAC with the public key as the secret)",
      token: async (set) => {
        const rsa = await set.key("RS256");
        return forge({ header: { alg: "HS256", kid: rsa.kid, typ: "JWT" }, secret: rsa.publicPem });
      },
    },
    {
      name: "HS256 with the public key as JWK JSON for the secret",
      token: async (set) => {
        const rsa = await set.key("RS256");
        const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = rsa.jwk;
        return forge({ header: { alg: "HS256", kid: rsa.kid, typ: "JWT" }, secret: JSON.stringify(publicJwk) });
      },
    },
    {
      name: "an ES256 header over an RS256 signature, with the RSA key's kid",
      token: async (set) => {
        const rsa = await set.key("RS256");
        const [, payload, signature] = (await signWith(rsa)).split(".");
        return `${b64json({ alg: "ES256", kid: rsa.kid, typ: "JWT" })}.${payload}.${signature}`;
      },
    },
    { name: "an RS256 header naming the EC key", token: async (set) => signWith(await set.key("RS256"), goodPayload(), { kid: (await set.key("ES256")).kid }) },
    { name: "RS384 (not an accepted algorithm)", token: async (set) => {
      const rsa = await set.key("RS256");
      return new SignJWT(goodPayload()).setProtectedHeader({ alg: "RS384", kid: rsa.kid }).sign(await importJWK(rsa.jwk, "RS384"));
    } },
    { name: "PS256 (not an accepted algorithm)", token: async (set) => {
      const rsa = await set.key("RS256");
      return new SignJWT(goodPayload()).setProtectedHeader({ alg: "PS256", kid: rsa.kid }).sign(await importJWK(rsa.jwk, "PS256"));
    } },
    { name: "alg none with the RSA key's kid", token: async (set) => `${b64json({ alg: "none", kid: (await set.key("RS256")).kid })}.${b64json(goodPayload())}.` },
    {
      name: "a token signed by a key that is not in the set, claiming a kid that is",
      token: async (set) => {
        const stranger = await generateKeyPair("RS256");
        return new SignJWT(goodPayload()).setProtectedHeader({ alg: "RS256", kid: (await set.key("RS256")).kid }).sign(stranger.privateKey);
      },
    },
    { name: "an expired RS256 token", token: async (set) => signWith(await set.key("RS256"), goodPayload({ exp: now() - 3600 })) },
    { name: "an ES256 token without exp", token: async (set) => signWith(await set.key("ES256"), without(goodPayload(), "exp")) },
    { name: "an RS256 token whose sub is ../admin", token: async (set) => signWith(await set.key("RS256"), goodPayload({ sub: "../admin" })) },
    { name: "an ES256 token with a kind the contract does not know", token: async (set) => signWith(await set.key("ES256"), goodPayload({ kind: "admin" })) },
  ];

  for (const c of refusedWithSet) {
    it(`refuses ${c.name} with 401`, async () => {
      const set = keySet();
      const token = await c.token(set);
      const res = await withKeySet(set, token);
      expect(res.status).toBe(401);
      expectUnauthorizedBody(await res.json());
      // With the key set alone (no secret at all), as a deployment that only uses its provider.
      const alone = await withKeySet(set, token, { DEV_MODE: "false" });
      expect(alone.status).toBe(401);
    });
  }

  it("refuses RS256 and ES256 tokens where no key set is configured", async () => {
    const set = keySet();
    const res = await api(`/api/rooms/${room}/messages`, { token: await signWith(await set.key("RS256")) });
    expect(res.status).toBe(401);
    expectUnauthorizedBody(await res.json());
  });

  it("checks iss and aud on key-set tokens where configured", async () => {
    const set = keySet();
    const rsa = await set.key("RS256");
    const vars = { JWT_ISSUER: "https://idp.example", JWT_AUDIENCE: "edge-chat" };
    expect((await withKeySet(set, await signWith(rsa, goodPayload({ iss: "https://idp.example", aud: "edge-chat" })), vars)).status).toBe(200);
    expect((await withKeySet(set, await signWith(rsa, goodPayload({ iss: "https://evil.example", aud: "edge-chat" })), vars)).status).toBe(401);
    expect((await withKeySet(set, await signWith(rsa, goodPayload({ iss: "https://idp.example" })), vars)).status).toBe(401);
  });

  it("fetches the set once and serves later tokens from its cache", async () => {
    const set = keySet();
    for (let i = 0; i < 3; i++) expect((await withKeySet(set, await signWith(await set.key(i % 2 ? "ES256" : "RS256")))).status).toBe(200);
    expect(await set.fetches()).toBe(1);
  });

  it("fetches again once for an unknown kid, then refuses it; within the cooldown it refuses without fetching", async () => {
    const set = keySet();
    const rsa = await set.key("RS256");
    expect((await withKeySet(set, await signWith(rsa))).status).toBe(200);
    expect(await set.fetches()).toBe(1);
    // Straight after a fetch: refused, and no fetch (a stream of made-up kids costs nothing).
    expect((await withKeySet(set, await signWith(rsa, goodPayload(), { kid: "made-up-1" }))).status).toBe(401);
    expect(await set.fetches()).toBe(1);
    // After the cooldown: one fetch, still no such key, refused.
    later(JWKS_CACHE.cooldownDuration + 1000);
    const res = await withKeySet(set, await signWith(rsa, goodPayload(), { kid: "made-up-2" }));
    expect(res.status).toBe(401);
    expectUnauthorizedBody(await res.json());
    expect(await set.fetches()).toBe(2);
    // And the cooldown starts again.
    expect((await withKeySet(set, await signWith(rsa, goodPayload(), { kid: "made-up-3" }))).status).toBe(401);
    expect(await set.fetches()).toBe(2);
  });

  it("picks up a rotated key with the first token that carries it once the cooldown has passed, and drops the old key", async () => {
    const set = keySet();
    const old = await set.key("ES256");
    expect((await withKeySet(set, await signWith(old))).status).toBe(200);
    await set.rotate();
    const rotated = await set.key("ES256");
    expect(rotated.kid).not.toBe(old.kid);
    // jose's cooldown: within 30 s of the last fetch an unknown kid is refused without a fetch.
    expect((await withKeySet(set, await signWith(rotated))).status).toBe(401);
    expect(await set.fetches()).toBe(1);
    later(JWKS_CACHE.cooldownDuration + 1000);
    expect((await withKeySet(set, await signWith(rotated))).status).toBe(200);
    expect(await set.fetches()).toBe(2);
    // The old key is no longer published: refused (and no fetch, the set was just fetched).
    expect((await withKeySet(set, await signWith(old))).status).toBe(401);
    expect((await withKeySet(set, await signWith(rotated))).status).toBe(200);
    expect(await set.fetches()).toBe(2);
  });

  it("fetches the set again once its cache is older than cacheMaxAge, and answers 503 if it cannot", async () => {
    const set = keySet();
    const rsa = await set.key("RS256");
    expect((await withKeySet(set, await signWith(rsa))).status).toBe(200);
    later(JWKS_CACHE.cacheMaxAge - 5000);
    expect((await withKeySet(set, await signWith(rsa))).status).toBe(200);
    expect(await set.fetches()).toBe(1);
    vi.restoreAllMocks();
    later(JWKS_CACHE.cacheMaxAge + 1000);
    expect((await withKeySet(set, await signWith(rsa))).status).toBe(200);
    expect(await set.fetches()).toBe(2);
    // Expired again, and the provider is down: not the caller's fault, so 503, not 401.
    vi.restoreAllMocks();
    later(2 * JWKS_CACHE.cacheMaxAge + 2000);
    await set.fail(500);
    const res = await withKeySet(set, await signWith(rsa));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    await set.fail("");
    expect((await withKeySet(set, await signWith(rsa))).status).toBe(200);
  });

  it("answers 503 when the key set cannot be fetched at all, and HS256 tokens still work", async () => {
    const rsa = await keySet().key("RS256");
    for (const url of [`${JWKS}/nothing-here`, "http://127.0.0.1:1/jwks.json", "not a url", "ftp://idp.example/jwks.json"]) {
      const res = await withKeySet({ url }, await signWith(rsa));
      expect(res.status, url).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code, url).toBe("unavailable");
      expect((await withKeySet({ url }, await forge())).status, url).toBe(200);
    }
  });

  it("lets a key-set token get a socket ticket, and the ticket opens the socket as that user", async () => {
    const set = keySet();
    const token = await signWith(await set.key("RS256"), goodPayload({ roles: ["staff"] }));
    const issued = await app.request("/api/auth/ticket", { method: "POST", headers: { authorization: `Bearer ${token}` } }, { ...env, JWKS_URL: set.url });
    expect(issued.status).toBe(200);
    const { ticket } = (await issued.json()) as { ticket: string };
    // The socket itself needs no key set: the ticket carries the verified identity.
    const res = await app.request(`/parties/room/${room}?ticket=${ticket}`, { headers: { upgrade: "websocket" } }, env);
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const first = new Promise<string>((resolve) => ws.addEventListener("message", (e) => resolve(String(e.data))));
    ws.accept();
    expect(JSON.parse(await first)).toMatchObject({ type: "welcome", you: { id: "mallory", roles: ["staff"] } });
    ws.close(1000, "done");
    // Counted out before the file ends: its teardown would cut the room's leave reports short.
    await expect.poll(() => runInDurableObject(roomStubOf(room), (r: Room) => partsOf(r).connections.size)).toBe(0);
  });
});
