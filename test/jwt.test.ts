/**
 * The token matrix from the contract's "Identity" section, on REST (Authorization: Bearer)
 * and on the room socket (`?token=`). Hostile tokens are built by hand here — base64url
 * header and payload, HMAC from WebCrypto — never with the project's own signer, so a bug in
 * the signer cannot hide a bug in the verifier.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import app from "../src/app";
import { verifyToken } from "../src/lib/jwt";
import { DEV_JWT_SECRET } from "../src/middleware/auth";
import { api, openSocket, uniqueRoom } from "./helpers";

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
