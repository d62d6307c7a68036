/**
 * Socket tickets: `POST /api/auth/ticket` gives a random ticket that opens one socket
 * (`?ticket=`) within 60 s, once. Used twice, late, made up or malformed: 401 and no socket.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TICKET_TTL_MS, ticketStub, type Ticket } from "../src/auth/Ticket";
import { api, BASE, expectError, people, TestSocket, tokenFor, uniqueRoom } from "./helpers";
import { SELF } from "cloudflare:test";

async function ticketFor(token: string) {
  const res = await api("/api/auth/ticket", { method: "POST", token });
  expect(res.status).toBe(200);
  return { res, body: (await res.json()) as { ticket: string; expiresAt: string } };
}

const upgrade = (roomId: string, query: string) =>
  SELF.fetch(`${BASE}/parties/room/${roomId}?${query}`, { headers: { upgrade: "websocket" } });

async function expectRefused(res: Response) {
  expect(res.webSocket).toBeNull();
  await expectError(res, 401, "unauthorized");
}

describe("socket tickets", () => {
  it("are random, valid for 60 s, and open a socket as the user who asked, once", async () => {
    const [user] = await people("ticketed");
    const room = await uniqueRoom("tickets", [user!]);
    const token = await tokenFor(user!, "Ticketed", "member", ["staff"]);
    const before = Date.now();
    const { res, body } = await ticketFor(token);
    expect(Object.keys(body).sort()).toEqual(["expiresAt", "ticket"]);
    expect(body.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const expiresAt = Date.parse(body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + TICKET_TTL_MS - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + TICKET_TTL_MS);
    expect(res.headers.get("x-ratelimit-limit")).toMatch(/^\d+$/);
    expect((await ticketFor(token)).body.ticket).not.toBe(body.ticket);

    const opened = await upgrade(room, `ticket=${body.ticket}`);
    expect(opened.status).toBe(101);
    opened.webSocket!.accept();
    const socket = new TestSocket(opened.webSocket!);
    expect((await socket.next("welcome")).you).toEqual({ id: user, name: "Ticketed", kind: "member", roles: ["staff"] });
    socket.close();

    const again = await upgrade(room, `ticket=${body.ticket}`);
    await expectRefused(again);
  });

  it("open exactly one of two sockets that race with the same ticket", async () => {
    const [user] = await people("racer");
    const room = await uniqueRoom("ticket-race", [user!]);
    const { ticket } = (await ticketFor(await tokenFor(user!))).body;
    const answers = await Promise.all([upgrade(room, `ticket=${ticket}`), upgrade(room, `ticket=${ticket}`)]);
    expect(answers.map((r) => r.status).sort()).toEqual([101, 401]);
    for (const r of answers) {
      if (r.webSocket) {
        r.webSocket.accept();
        r.webSocket.close();
      } else await r.text();
    }
  });

  it("refuse a late ticket, and leave nothing behind once the alarm has run", async () => {
    const [user] = await people("late");
    const room = await uniqueRoom("ticket-late", [user!]);
    const token = await tokenFor(user!);

    // Late: its time has passed though its alarm has not run yet.
    const late = (await ticketFor(token)).body.ticket;
    await runInDurableObject(ticketStub(env, late), async (_: Ticket, state) => {
      const stored = state.storage.kv.get<{ expiresAt: number }>("ticket")!;
      state.storage.kv.put("ticket", { ...stored, expiresAt: Date.now() - 1 });
    });
    await expectRefused(await upgrade(room, `ticket=${late}`));

    // Expired: the alarm deleted it.
    const expired = (await ticketFor(token)).body.ticket;
    expect(await runDurableObjectAlarm(ticketStub(env, expired))).toBe(true);
    const left = await runInDurableObject(ticketStub(env, expired), async (_: Ticket, state) => ({
      keys: [...state.storage.kv.list()].length,
      alarm: await state.storage.getAlarm(),
    }));
    expect(left).toEqual({ keys: 0, alarm: null });
    await expectRefused(await upgrade(room, `ticket=${expired}`));

    // Redeemed: nothing stays either.
    const used = (await ticketFor(token)).body.ticket;
    const opened = await upgrade(room, `ticket=${used}`);
    expect(opened.status).toBe(101);
    opened.webSocket!.accept();
    opened.webSocket!.close();
    const after = await runInDurableObject(ticketStub(env, used), async (_: Ticket, state) => ({
      keys: [...state.storage.kv.list()].length,
      alarm: await state.storage.getAlarm(),
    }));
    expect(after).toEqual({ keys: 0, alarm: null });
  });

  it("refuse made-up and malformed tickets without opening anything, and never fall back to ?token=", async () => {
    const [user] = await people("forger");
    const room = await uniqueRoom("ticket-forged", [user!]);
    const token = await tokenFor(user!);
    const madeUp = "A".repeat(43);
    for (const query of [`ticket=${madeUp}`, "ticket=", "ticket=abc", `ticket=${"A".repeat(42)}!`, `ticket=${"A".repeat(44)}`, `ticket=${madeUp}&token=${token}`]) {
      const res = await upgrade(room, query);
      expect(res.status, query).toBe(401);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message, "the ticket is not echoed").not.toContain(madeUp);
    }
  });

  it("need a valid token to be issued, work for visitors, and are not accepted on REST", async () => {
    await expectError(await api("/api/auth/ticket", { method: "POST" }), 401, "unauthorized");
    await expectError(await api("/api/auth/ticket", { method: "POST", token: "a.b.c" }), 401, "unauthorized");

    const visit = await api("/api/auth/visitor", { method: "POST", json: { name: "Guest" }, headers: { "cf-connecting-ip": crypto.randomUUID() } });
    const v = (await visit.json()) as { token: string; roomId: string };
    const { ticket } = (await ticketFor(v.token)).body;
    const opened = await upgrade(v.roomId, `ticket=${ticket}`);
    expect(opened.status).toBe(101);
    opened.webSocket!.accept();
    opened.webSocket!.close();

    const rest = (await ticketFor(v.token)).body.ticket;
    await expectError(await api(`/api/rooms/${v.roomId}/messages?ticket=${rest}`), 401, "unauthorized");
  });

  it("still let the room decide: a ticket of someone who is not a member gets 403 and is spent", async () => {
    const [member, outsider] = await people("inside", "outside");
    const room = await uniqueRoom("ticket-room", [member!]);
    const { ticket } = (await ticketFor(await tokenFor(outsider!))).body;
    const res = await upgrade(room, `ticket=${ticket}`);
    expect(res.status).toBe(403);
    await res.text();
    await expectRefused(await upgrade(room, `ticket=${ticket}`));
  });
});
