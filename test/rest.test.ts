import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import pkg from "../package.json";
import app from "../src/app";
import type { Message } from "../src/protocol";
import { api, connect, tokenFor, uniqueRoom } from "./helpers";

type Page = { messages: Message[]; nextBefore: number | null };

async function postMessage(room: string, token: string, body: unknown) {
  return api(`/api/rooms/${room}/messages`, { method: "POST", token, json: body });
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

describe("dev auth", () => {
  it("issues a member token that the API accepts", async () => {
    const res = await api("/api/auth/dev", { method: "POST", json: { userId: "dana", name: " Dana " } });
    expect(res.status).toBe(200);
    const { token, user } = (await res.json()) as { token: string; user: unknown };
    expect(user).toEqual({ id: "dana", name: "Dana", kind: "member" });
    const history = await api(`/api/rooms/${await uniqueRoom()}/messages`, { token });
    expect(history.status).toBe(200);
    const row = await env.DB.prepare("SELECT name, kind FROM users WHERE id = ?").bind("dana").first();
    expect(row).toEqual({ name: "Dana", kind: "member" });
  });

  it("refuses bad dev logins with 400", async () => {
    for (const body of [{}, { userId: "", name: "x" }, { userId: "a b", name: "x" }, { userId: "ok", name: "x".repeat(65) }]) {
      await expectError(await api("/api/auth/dev", { method: "POST", json: body }), 400, "bad_request");
    }
    const malformed = await api("/api/auth/dev", {
      method: "POST",
      body: "{nope",
      headers: { "content-type": "application/json" },
    });
    await expectError(malformed, 400, "bad_request");
  });

  it("answers 404 when dev mode is off, and refuses every token without a configured secret", async () => {
    const deployed = { ...env, DEV_MODE: "false" };
    const login = await app.request("/api/auth/dev", { method: "POST", body: JSON.stringify({ userId: "a", name: "A" }) }, deployed);
    await expectError(login, 404, "not_found");
    const token = await tokenFor("alice");
    const res = await app.request(`/api/rooms/${await uniqueRoom()}/messages`, { headers: { authorization: `Bearer ${token}` } }, deployed);
    const body = await expectError(res, 401, "unauthorized");
    expect(body.error.message).toMatch(/JWT_SECRET/);
    const health = await app.request("/api/health", {}, deployed);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "degraded", checks: { auth: expect.stringMatching(/JWT_SECRET/) } });
  });

  it("accepts tokens signed with a configured secret and not with the dev secret", async () => {
    const configured = { ...env, DEV_MODE: "false", JWT_SECRET: "a-real-secret-of-enough-length-0123456789" };
    const { signToken } = await import("../src/lib/jwt");
    const good = await signToken({ sub: "alice", name: "Alice", kind: "member", exp: Math.floor(Date.now() / 1000) + 60 }, configured.JWT_SECRET);
    const path = `/api/rooms/${await uniqueRoom()}/messages`;
    expect((await app.request(path, { headers: { authorization: `Bearer ${good}` } }, configured)).status).toBe(200);
    const dev = await tokenFor("alice");
    await expectError(await app.request(path, { headers: { authorization: `Bearer ${dev}` } }, configured), 401, "unauthorized");
  });
});

describe("health", () => {
  it("reports ok with package.json's version and its checks", async () => {
    const res = await api("/api/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", version: pkg.version, checks: { d1: "ok", redis: "embedded" } });
  });
});

describe("sending over REST", () => {
  it("stores a message, returns 201 and delivers it live to the room's sockets", async () => {
    const room = await uniqueRoom();
    const { socket } = await connect(room, "bob");
    const res = await postMessage(room, await tokenFor("alice", "Alice"), { clientId: "r1", text: "via rest" });
    expect(res.status).toBe(201);
    const { message } = (await res.json()) as { message: Message };
    expect(message).toMatchObject({ seq: 1, text: "via rest", author: { id: "alice", name: "Alice" }, clientId: "r1" });
    expect((await socket.next("message")).message).toEqual(message);
  });

  it("answers the same clientId again with 200 and the first message, storing nothing new", async () => {
    const room = await uniqueRoom();
    const token = await tokenFor("alice");
    const first = await postMessage(room, token, { clientId: "same", text: "hello" });
    const again = await postMessage(room, token, { clientId: "same", text: "hello again" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    const page = (await (await api(`/api/rooms/${room}/messages`, { token })).json()) as Page;
    expect(page.messages).toHaveLength(1);
  });

  it("refuses the same text twice within 10 seconds with 409 duplicate", async () => {
    const room = await uniqueRoom();
    const token = await tokenFor("alice");
    expect((await postMessage(room, token, { clientId: "d1", text: "ping?" })).status).toBe(201);
    await expectError(await postMessage(room, token, { clientId: "d2", text: " ping? " }), 409, "duplicate");
    expect((await postMessage(room, token, { clientId: "d3", text: "pong!" })).status).toBe(201);
  });

  it("refuses bad bodies with 400 and stores nothing", async () => {
    const room = await uniqueRoom();
    const token = await tokenFor("alice");
    const bad = [
      {},
      { clientId: "c", text: "" },
      { clientId: "c", text: "   " },
      { clientId: "c", text: "x".repeat(4001) },
      { clientId: "", text: "hi" },
      { clientId: 7, text: "hi" },
      { clientId: "c", text: ["hi"] },
      { clientId: "c", text: "hi", extra: 1 },
      [],
    ];
    for (const body of bad) await expectError(await postMessage(room, token, body), 400, "bad_request");
    const ok = await postMessage(room, token, { clientId: "c", text: "x".repeat(4000) });
    expect(ok.status).toBe(201);
    expect(((await ok.json()) as { message: Message }).message.seq).toBe(1);
  });

  it("refuses a request without a valid token with 401", async () => {
    const room = await uniqueRoom();
    await expectError(await postMessage(room, "", { clientId: "c", text: "hi" }), 401, "unauthorized");
    await expectError(await postMessage(room, "not.a.jwt", { clientId: "c", text: "hi" }), 401, "unauthorized");
  });
});

describe("history", () => {
  async function seedRoom(count: number) {
    const room = await uniqueRoom();
    const token = await tokenFor("alice");
    for (let i = 1; i <= count; i++) await postMessage(room, token, { clientId: `c${i}`, text: `m${i}` });
    return { room, token };
  }

  it("returns the newest page ascending with a cursor, and pages back to the start", async () => {
    const { room, token } = await seedRoom(120);
    const newest = (await (await api(`/api/rooms/${room}/messages`, { token })).json()) as Page;
    expect(newest.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 71));
    expect(newest.nextBefore).toBe(71);
    const seen = [...newest.messages];
    let before = newest.nextBefore;
    while (before !== null) {
      const page = (await (await api(`/api/rooms/${room}/messages?before=${before}&limit=100`, { token })).json()) as Page;
      seen.unshift(...page.messages);
      before = page.nextBefore;
    }
    expect(seen.map((m) => m.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
  });

  it("accepts limit 1 and 100 and refuses 0, 101 and non-numbers", async () => {
    const { room, token } = await seedRoom(3);
    const one = (await (await api(`/api/rooms/${room}/messages?limit=1`, { token })).json()) as Page;
    expect(one.messages.map((m) => m.seq)).toEqual([3]);
    expect((await api(`/api/rooms/${room}/messages?limit=100`, { token })).status).toBe(200);
    for (const q of ["limit=0", "limit=101", "limit=ten", "limit=-1", "before=0", "before=1.5", "before=abc"]) {
      await expectError(await api(`/api/rooms/${room}/messages?${q}`, { token }), 400, "bad_request");
    }
  });

  it("is empty for a room with no messages", async () => {
    const res = await api(`/api/rooms/${await uniqueRoom()}/messages`, { token: await tokenFor("alice") });
    expect(await res.json()).toEqual({ messages: [], nextBefore: null });
  });

  it("includes a message as soon as its sender has the ack (read-your-writes)", async () => {
    const room = await uniqueRoom();
    const { socket } = await connect(room, "alice");
    socket.send({ type: "send", clientId: "ryw", text: "right away" });
    await socket.next("ack");
    const page = (await (await api(`/api/rooms/${room}/messages`, { token: await tokenFor("bob") })).json()) as Page;
    expect(page.messages.map((m) => m.text)).toEqual(["right away"]);
  });

  it("uses the (room_id, seq) index for pages served from D1", async () => {
    const plan = await env.DB.prepare(
      "EXPLAIN QUERY PLAN SELECT * FROM messages WHERE room_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
    )
      .bind("r", 1, 50)
      .all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join("\n")).toMatch(/USING INDEX messages_room_seq/);
  });
});

describe("room ids and routes", () => {
  it("refuses a malformed room id with 400 and lets 64 characters through to the room lookup", async () => {
    const token = await tokenFor("alice");
    await expectError(await api(`/api/rooms/${"a".repeat(65)}/messages`, { token }), 400, "bad_request");
    await expectError(await api(`/api/rooms/bad.id/messages`, { token }), 400, "bad_request");
    await expectError(await api(`/api/rooms/${"a".repeat(64)}/messages`, { token }), 404, "not_found");
  });

  it("answers unknown routes with 404 in the error shape", async () => {
    await expectError(await api("/api/nope"), 404, "not_found");
  });

  it("lists who is online in a room", async () => {
    const room = await uniqueRoom();
    await connect(room, "alice", "Alice");
    const res = await api(`/api/rooms/${room}/presence`, { token: await tokenFor("bob") });
    expect(await res.json()).toEqual({ online: [{ id: "alice", name: "Alice", status: "online" }] });
  });
});
