import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readConfig } from "../../src/config";
import { limitsFor } from "../../src/limits";
import type { Message } from "../../src/protocol";
import type { Room } from "../../src/room/Room";
import { api, call, connect, expectError, openSocket, partsOf, people, roomStubOf, sendAndAck, tokenFor, uniqueRoom } from "../helpers";
import { BACKEND, awayFromWindowEdge } from "./helpers";

const SENDS = readConfig(env).rates.sends;

async function post(roomId: string, user: string, text: string, clientId: string = crypto.randomUUID()) {
  return call("POST", `/api/rooms/${roomId}/messages`, user, { clientId, text });
}

async function storedCount(roomId: string) {
  return runInDurableObject(roomStubOf(roomId), (room: Room) => partsOf(room).store.lastSeq);
}

describe(`The send budget (${BACKEND})`, () => {
  afterEach(() => vi.useRealTimers());

  it("is 60 a minute from wrangler.toml, the setting these tests run with", () => {
    expect(SENDS).toEqual({ limit: 60, windowMs: 60_000 });
  });

  it("lets the 60th REST send through with headers counting down, refuses the 61st with 429 and stores nothing", async () => {
    const [user] = await people("sender");
    const room = await uniqueRoom("budget", [user!]);
    await awayFromWindowEdge();
    const remaining: number[] = [];
    for (let i = 1; i <= 60; i++) {
      const res = await post(room, user!, `message ${i}`);
      expect(res.status).toBe(201);
      expect(res.headers.get("x-ratelimit-limit")).toBe("60");
      expect(Number(res.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
      remaining.push(Number(res.headers.get("x-ratelimit-remaining")));
    }
    expect(remaining).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i));
    const refused = await post(room, user!, "one too many");
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
    await expectError(refused, 429, "rate_limited");
    expect(await storedCount(room)).toBe(60);
  });

  it("is one budget for all of a user's sockets and REST calls, in every room", async () => {
    const [user] = await people("everywhere");
    const [roomA, roomB] = [await uniqueRoom("share-a", [user!]), await uniqueRoom("share-b", [user!])];
    await awayFromWindowEdge();
    const { socket: a1 } = await connect(roomA, user!);
    const { socket: a2 } = await connect(roomA, user!);
    const { socket: b } = await connect(roomB, user!);
    for (let i = 0; i < 20; i++) await sendAndAck(a1, `a1 ${i}`);
    for (let i = 0; i < 20; i++) await sendAndAck(a2, `a2 ${i}`);
    for (let i = 0; i < 19; i++) await sendAndAck(b, `b ${i}`);
    expect((await post(roomB, user!, "the sixtieth")).status).toBe(201);

    a1.send({ type: "send", clientId: "over", text: "the sixty-first" });
    const error = await a1.next("error", (e) => e.clientId === "over");
    expect(error).toMatchObject({ code: "rate_limited", clientId: "over" });
    expect(error.retryAfter).toBeGreaterThanOrEqual(1);
    expect(error.retryAfter).toBeLessThanOrEqual(60);
    // The socket stays open and usable; nothing was stored.
    a1.send({ type: "sync", after: 0 });
    expect((await a1.next("sync")).messages).toHaveLength(40);
    expect(a1.closed).toBeNull();
    expect(await storedCount(roomA)).toBe(40);
    await expectError(await post(roomB, user!, "over REST too"), 429, "rate_limited");
  });

  it("keeps two users' budgets apart", async () => {
    const [spender, other] = await people("spender", "other");
    const room = await uniqueRoom("apart", [spender!, other!]);
    await awayFromWindowEdge();
    for (let i = 0; i < 60; i++) expect((await post(room, spender!, `s ${i}`)).status).toBe(201);
    await expectError(await post(room, spender!, "no more"), 429, "rate_limited");
    const res = await post(room, other!, "still mine to spend");
    expect(res.status).toBe(201);
    expect(res.headers.get("x-ratelimit-remaining")).toBe("59");
  });

  it("does not count a resend of an acked clientId: it gets its ack again even with the budget spent", async () => {
    const [user] = await people("resender");
    const room = await uniqueRoom("resend", [user!]);
    await awayFromWindowEdge();
    const { socket } = await connect(room, user!);
    const first = await sendAndAck(socket, "the first", "keep-me");
    for (let i = 1; i < 60; i++) await sendAndAck(socket, `filler ${i}`);
    const again = await sendAndAck(socket, "the first", "keep-me");
    expect(again).toEqual(first);
    const rest = await post(room, user!, "the first", "keep-me");
    expect(rest.status).toBe(200);
    expect(((await rest.json()) as { message: Message }).message.seq).toBe(first.seq);
    socket.send({ type: "send", clientId: "new", text: "a new one" });
    expect(await socket.next("error")).toMatchObject({ code: "rate_limited", clientId: "new" });
  });

  it("slides: half a window later, half of the last window's sends still count", async () => {
    const user = `slide-${crypto.randomUUID()}`;
    const limits = limitsFor(env);
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = (Math.floor(Date.now() / 60_000) + 1) * 60_000;
    vi.setSystemTime(start + 1000);
    for (let i = 0; i < 60; i++) expect((await limits.hit("sends", user))!.allowed).toBe(true);
    const spent = await limits.hit("sends", user);
    expect(spent).toMatchObject({ allowed: false, remaining: 0, resetAt: start + 60_000 });
    // 30 s into the next window, half of the previous window's 60 still weigh: 30 more pass.
    vi.setSystemTime(start + 90_000);
    const passed = [];
    for (let i = 0; i < 31; i++) passed.push((await limits.hit("sends", user))!.allowed);
    expect(passed.filter(Boolean)).toHaveLength(30);
    expect(passed[30]).toBe(false);
    // Two windows on, nothing of the first weighs any more.
    vi.setSystemTime(start + 180_000);
    const fresh = await limits.hit("sends", user);
    expect(fresh).toMatchObject({ allowed: true, remaining: 59 });
  });
});

describe(`Other budgets (${BACKEND})`, () => {
  const rates = readConfig(env).rates;

  it("gives 10 visitor tokens per address per 15 minutes, then 429, while other addresses go on", async () => {
    expect(rates.visitorTokens).toEqual({ limit: 10, windowMs: 15 * 60_000 });
    const ip = `ip-${crypto.randomUUID()}`;
    const visit = (address: string) =>
      api("/api/auth/visitor", { method: "POST", json: { name: "Guest" }, headers: { "cf-connecting-ip": address } });
    for (let i = 0; i < 10; i++) expect((await visit(ip)).status).toBe(200);
    const refused = await visit(ip);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectError(refused, 429, "rate_limited");
    expect((await visit(`ip-${crypto.randomUUID()}`)).status).toBe(200);
  });

  it("lets a user open 30 sockets a minute and answers the 31st upgrade with 429", async () => {
    const [user] = await people("reconnector");
    const room = await uniqueRoom("reconnect", [user!]);
    await awayFromWindowEdge();
    for (let i = 0; i < 30; i++) {
      const { socket } = await connect(room, user!);
      socket.close();
    }
    const refused = await openSocket(room, await tokenFor(user!));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
  });

  it("gives a user 30 socket tickets a minute, then 429, while other users go on", async () => {
    expect(rates.tickets).toEqual({ limit: 30, windowMs: 60_000 });
    const [user, other] = await people("ticketer", "other-ticketer");
    await awayFromWindowEdge();
    const ticket = async (id: string) => api("/api/auth/ticket", { method: "POST", token: await tokenFor(id) });
    for (let i = 0; i < 30; i++) expect((await ticket(user!)).status).toBe(200);
    const refused = await ticket(user!);
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    await expectError(refused, 429, "rate_limited");
    expect((await ticket(other!)).status).toBe(200);
  });

  it("limits uploads to 30 and searches to 60 a minute per user", async () => {
    const [user] = await people("busy");
    const room = await uniqueRoom("busy", [user!]);
    await awayFromWindowEdge();
    const token = await tokenFor(user!);
    const upload = () =>
      api(`/api/rooms/${room}/attachments?name=note.txt`, { method: "POST", token, body: "hello", headers: { "content-type": "text/plain" } });
    for (let i = 0; i < 30; i++) expect((await upload()).status).toBe(201);
    await expectError(await upload(), 429, "rate_limited");
    const search = () => api(`/api/search?q=hello`, { token });
    for (let i = 0; i < 60; i++) expect((await search()).status).toBe(200);
    await expectError(await search(), 429, "rate_limited");
  });
});
