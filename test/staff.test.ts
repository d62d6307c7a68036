/**
 * Staff reach visitor rooms by their role (the token's `roles` claim or STAFF_USER_IDS), not by
 * a list written into the room when it was made: staff who arrive later answer too, a room made
 * while there was no staff at all is answered once there is, and someone without the role never
 * gets in, whatever rows D1 has. Also the service roles on the identity in the community room.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app from "../src/app";
import type { Message, ServiceRole } from "../src/protocol";
import { api, expectError, flush, openSocket, people, TestSocket, tokenFor, uniqueId, type RoomView } from "./helpers";

interface Visit {
  token: string;
  user: { id: string; name: string; kind: string };
  roomId: string;
}

async function visit(name: string, vars: Record<string, string> = {}): Promise<Visit> {
  const init = { method: "POST", body: JSON.stringify({ name }), headers: { "content-type": "application/json", "cf-connecting-ip": uniqueId("ip") } };
  const res = Object.keys(vars).length > 0 ? await app.request("/api/auth/visitor", init, { ...env, ...vars }) : await api("/api/auth/visitor", init);
  expect(res.status).toBe(200);
  return (await res.json()) as Visit;
}

/** A fresh member with these service roles in their token. */
async function member(prefix: string, roles?: ServiceRole[]) {
  const [id] = await people(prefix);
  return { id: id!, token: await tokenFor(id!, id!, "member", roles) };
}

async function listed(token: string, query = ""): Promise<RoomView[]> {
  const res = await api(`/api/rooms?limit=200${query}`, { token });
  expect(res.status).toBe(200);
  return ((await res.json()) as { rooms: RoomView[] }).rooms;
}

async function post(roomId: string, token: string, text: string) {
  return api(`/api/rooms/${roomId}/messages`, { method: "POST", token, json: { clientId: crypto.randomUUID(), text } });
}

async function socketOf(roomId: string, token: string) {
  const res = await openSocket(roomId, token);
  expect(res.status).toBe(101);
  res.webSocket!.accept();
  const socket = new TestSocket(res.webSocket!);
  return { socket, welcome: await socket.next("welcome") };
}

describe("staff and visitor rooms", () => {
  it("lets a staff user who arrived after the room was made list it, read it and answer it over REST and the socket", async () => {
    const v = await visit("Vera");
    expect((await post(v.roomId, v.token, "hello, anyone there?")).status).toBe(201);
    await flush(v.roomId);
    const { socket: visitorSocket } = await socketOf(v.roomId, v.token);

    const late = await member("late-staff", ["staff"]);
    expect((await listed(late.token)).find((r) => r.id === v.roomId)).toMatchObject({ kind: "visitor", role: "admin", unread: 1 });
    const details = await api(`/api/rooms/${v.roomId}`, { token: late.token });
    expect(details.status).toBe(200);
    expect(((await details.json()) as { room: RoomView }).room).toMatchObject({ id: v.roomId, role: "admin" });
    const history = await api(`/api/rooms/${v.roomId}/messages`, { token: late.token });
    expect(((await history.json()) as { messages: Message[] }).messages.map((m) => m.text)).toEqual(["hello, anyone there?"]);

    const answer = await post(v.roomId, late.token, "Hi Vera, how can I help?");
    expect(answer.status).toBe(201);
    await visitorSocket.next("message", (f) => f.message.text === "Hi Vera, how can I help?");

    const { socket, welcome } = await socketOf(v.roomId, late.token);
    expect(welcome.you).toMatchObject({ id: late.id, roles: ["staff"] });
    expect(welcome.recent.map((m) => m.text)).toEqual(["hello, anyone there?", "Hi Vera, how can I help?"]);
    socket.send({ type: "send", clientId: "live-1", text: "I am here live too" });
    await socket.next("ack", (a) => a.clientId === "live-1");
    await visitorSocket.next("message", (f) => f.message.text === "I am here live too");
    socket.close();
    visitorSocket.close();

    // Answering read up to it: nothing unread for this staff user, everything for another.
    await flush(v.roomId);
    const other = await member("other-staff", ["staff"]);
    expect((await listed(late.token)).find((r) => r.id === v.roomId)).toMatchObject({ unread: 0 });
    expect((await listed(other.token)).find((r) => r.id === v.roomId)).toMatchObject({ unread: 3 });
    expect((await api(`/api/rooms/${v.roomId}/read`, { method: "POST", token: other.token, json: { seq: 2 } })).status).toBe(204);
    expect((await listed(other.token)).find((r) => r.id === v.roomId)).toMatchObject({ unread: 1 });
  });

  it("keeps members without the staff role out: not listed, 403 on every route and the socket", async () => {
    const v = await visit("Wanda");
    const plain = await member("plain");
    expect((await listed(plain.token)).map((r) => r.id)).not.toContain(v.roomId);
    for (const [method, path] of [
      ["GET", `/api/rooms/${v.roomId}`],
      ["GET", `/api/rooms/${v.roomId}/messages`],
      ["GET", `/api/rooms/${v.roomId}/presence`],
      ["PUT", `/api/rooms/${v.roomId}/archive`],
    ] as const) {
      await expectError(await api(path, { method, token: plain.token }), 403, "forbidden");
    }
    await expectError(await post(v.roomId, plain.token, "let me in"), 403, "forbidden");
    expect((await openSocket(v.roomId, plain.token)).status).toBe(403);
    // Service admins run the service; answering visitors is the staff's.
    const admin = await member("service-admin", ["admin"]);
    expect((await openSocket(v.roomId, admin.token)).status).toBe(403);
  });

  it("takes access away with the role: a former staff user's row from answering grants nothing", async () => {
    const v = await visit("Xena");
    const [id] = await people("former-staff");
    const asStaff = await tokenFor(id!, id!, "member", ["staff"]);
    expect((await post(v.roomId, asStaff, "I will be leaving the team")).status).toBe(201);
    await flush(v.roomId);
    const row = await env.DB.prepare("SELECT role FROM members WHERE room_id = ? AND user_id = ?").bind(v.roomId, id).first();
    expect(row).toEqual({ role: "admin" });

    const asMember = await tokenFor(id!);
    expect((await listed(asMember)).map((r) => r.id)).not.toContain(v.roomId);
    await expectError(await api(`/api/rooms/${v.roomId}/messages`, { token: asMember }), 403, "forbidden");
    await expectError(await api(`/api/rooms/${v.roomId}`, { token: asMember }), 403, "forbidden");
    expect((await openSocket(v.roomId, asMember)).status).toBe(403);
  });

  it("has a visitor room made while there was no staff at all answered by the first staff user", async () => {
    const v = await visit("Yusuf", { STAFF_USER_IDS: "" });
    const { results } = await env.DB.prepare("SELECT user_id FROM members WHERE room_id = ?").bind(v.roomId).all<{ user_id: string }>();
    expect(results.map((r) => r.user_id)).toEqual([v.user.id]);
    expect((await post(v.roomId, v.token, "is this thing on?")).status).toBe(201);
    const { socket: visitorSocket } = await socketOf(v.roomId, v.token);

    const first = await member("first-staff", ["staff"]);
    expect((await listed(first.token)).map((r) => r.id)).toContain(v.roomId);
    expect((await post(v.roomId, first.token, "It is! Sorry for the wait.")).status).toBe(201);
    await visitorSocket.next("message", (f) => f.message.text === "It is! Sorry for the wait.");
    visitorSocket.close();
  });

  it("grants the staff role from STAFF_USER_IDS as from the claim", async () => {
    const v = await visit("Zoe");
    // staff1 is in STAFF_USER_IDS (vitest.config.ts); its token carries no roles.
    const token = await tokenFor("staff1");
    expect((await listed(token)).find((r) => r.id === v.roomId)).toMatchObject({ role: "admin" });
    const { socket, welcome } = await socketOf(v.roomId, token);
    expect(welcome.you).toMatchObject({ id: "staff1", roles: ["staff"] });
    socket.close();
  });

  it("lets staff archive a visitor room for themselves alone, and bring it back", async () => {
    const v = await visit("Ada");
    const [a, b] = [await member("archiver", ["staff"]), await member("keeper", ["staff"])];
    expect((await api(`/api/rooms/${v.roomId}/archive`, { method: "PUT", token: a.token })).status).toBe(204);
    expect((await listed(a.token)).map((r) => r.id)).not.toContain(v.roomId);
    expect((await listed(a.token, "&archived=true")).map((r) => r.id)).toContain(v.roomId);
    expect((await listed(b.token)).map((r) => r.id)).toContain(v.roomId);
    expect((await api(`/api/rooms/${v.roomId}/archive`, { method: "DELETE", token: a.token })).status).toBe(204);
    expect((await listed(a.token)).map((r) => r.id)).toContain(v.roomId);
  });

  it("never gives a visitor a role: a visitor token claiming staff reaches only its own room", async () => {
    const mine = await visit("Mallory");
    const theirs = await visit("Victim");
    const forged = await tokenFor(mine.user.id, "Mallory", "visitor", ["staff", "admin"]);
    expect((await openSocket(theirs.roomId, forged)).status).toBe(403);
    expect((await listed(forged)).map((r) => r.id)).toEqual([mine.roomId]);
    const { socket, welcome } = await socketOf(mine.roomId, forged);
    expect(welcome.you).toEqual({ id: mine.user.id, name: "Mallory", kind: "visitor" });
    socket.close();
  });
});

describe("service roles in the community", () => {
  it("makes staff and service admins admins of the community, and nobody else", async () => {
    for (const [roles, status] of [[["staff"], 200], [["admin"], 200], [undefined, 403]] as const) {
      const user = await member("community", roles ? [...roles] : undefined);
      const res = await api("/api/rooms/community", { method: "PATCH", token: user.token, json: { slowModeSeconds: 0 } });
      expect(res.status, JSON.stringify(roles)).toBe(status);
    }
  });

  it("grants admin from ADMIN_USER_IDS, keeps only known roles from the claim, and says so on dev sign-in", async () => {
    const [boss] = await people("boss");
    const init = (json: unknown) => ({ method: "POST", body: JSON.stringify(json), headers: { "content-type": "application/json" } });
    const res = await app.request("/api/auth/dev", init({ userId: boss, name: "Boss" }), { ...env, ADMIN_USER_IDS: `someone,${boss}` });
    expect(await res.json()).toMatchObject({ user: { id: boss, name: "Boss", kind: "member", roles: ["admin"] } });

    const asked = await api("/api/auth/dev", { method: "POST", json: { userId: boss, name: "Boss", roles: ["staff"] } });
    const session = (await asked.json()) as { token: string; user: { roles?: string[] } };
    expect(session.user.roles).toEqual(["staff"]);
    const payload = JSON.parse(atob(session.token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { roles: string[] };
    expect(payload.roles).toEqual(["staff"]);

    const plain = await api("/api/auth/dev", { method: "POST", json: { userId: boss, name: "Boss" } });
    expect(((await plain.json()) as { user: object }).user).toEqual({ id: boss, name: "Boss", kind: "member" });
    for (const roles of [["owner"], "staff", [1]]) {
      await expectError(await api("/api/auth/dev", { method: "POST", json: { userId: boss, name: "Boss", roles } }), 400, "bad_request");
    }
  });
});
