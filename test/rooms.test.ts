import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Message } from "../src/protocol";
import {
  api,
  call,
  connect,
  createGroup,
  ensureUsers,
  expectError,
  flush,
  people,
  openSocket,
  sendAndAck,
  tokenFor,
  uniqueId,
  uniqueRoom,
  type RoomView,
} from "./helpers";

describe("the community room", () => {
  it("lets every member in without an invitation", async () => {
    const [ann] = await people("ann");
    const { socket, welcome } = await connect("community", ann!);
    expect(welcome.room.id).toBe("community");
    await sendAndAck(socket, "hello everyone");
    const res = await call("GET", "/api/rooms/community/messages?limit=1", ann!);
    expect(res.status).toBe(200);
  });

  it("keeps visitors out", async () => {
    const res = await openSocket("community", await tokenFor("v-someone", "Guest", "visitor"));
    expect(res.status).toBe(403);
    await expectError(await call("GET", "/api/rooms/community/messages", "v-someone", undefined, "visitor"), 403, "forbidden");
  });
});

describe("direct rooms", () => {
  it("creates one room per pair and returns it to either side", async () => {
    const [a, b] = await people("a", "b");
    const first = await call("POST", "/api/rooms/direct", a!, { userId: b });
    expect(first.status).toBe(201);
    const room = ((await first.json()) as { room: RoomView }).room;
    expect(room).toMatchObject({ kind: "direct", title: b, role: "member", unread: 0 });
    const reverse = await call("POST", "/api/rooms/direct", b!, { userId: a });
    expect(reverse.status).toBe(200);
    expect(((await reverse.json()) as { room: RoomView }).room).toMatchObject({ id: room.id, title: a });
  });

  it("makes one room when both people open it at the same moment", async () => {
    const [a, b] = await people("a", "b");
    const [x, y] = await Promise.all([
      call("POST", "/api/rooms/direct", a!, { userId: b }),
      call("POST", "/api/rooms/direct", b!, { userId: a }),
    ]);
    expect([x.status, y.status].sort()).toEqual([200, 201]);
    const ids = await Promise.all([x, y].map(async (r) => ((await r.json()) as { room: RoomView }).room.id));
    expect(ids[0]).toBe(ids[1]);
    const { results } = await env.DB.prepare("SELECT count(*) AS n FROM members WHERE room_id = ?").bind(ids[0]).all<{ n: number }>();
    expect(results[0]!.n).toBe(2);
  });

  it("refuses a direct room with oneself or with someone unknown", async () => {
    const [a] = await people("a");
    await expectError(await call("POST", "/api/rooms/direct", a!, { userId: a }), 400, "bad_request");
    await expectError(await call("POST", "/api/rooms/direct", a!, { userId: "nobody-here" }), 404, "not_found");
  });

  it("keeps third parties out of a direct room", async () => {
    const [a, b, c] = await people("a", "b", "c");
    const room = ((await (await call("POST", "/api/rooms/direct", a!, { userId: b })).json()) as { room: RoomView }).room;
    await expectError(await call("GET", `/api/rooms/${room.id}/messages`, c!), 403, "forbidden");
    expect((await openSocket(room.id, await tokenFor(c!))).status).toBe(403);
  });
});

describe("groups", () => {
  it("start with up to 500 other members (more than D1 binds in one statement) and refuse 501", async () => {
    const [admin] = await people("big-admin");
    const others = await people(...Array.from({ length: 501 }, (_, i) => `big${i}`));
    const res = await call("POST", "/api/rooms/group", admin!, { title: "Everyone", members: others.slice(0, 500) });
    expect(res.status).toBe(201);
    const { room } = (await res.json()) as { room: { id: string } };
    const count = await env.DB.prepare("SELECT count(*) AS n FROM members WHERE room_id = ?").bind(room.id).first<{ n: number }>();
    expect(count!.n).toBe(501);
    await expectError(await call("POST", "/api/rooms/group", admin!, { title: "Too many", members: others }), 400, "bad_request");
  });

  it("makes the creator admin and the others members", async () => {
    const [a, b, c] = await people("a", "b", "c");
    const room = await createGroup(a!, [b!, c!, b!, a!], "  Launch team  ");
    expect(room).toMatchObject({ kind: "group", title: "Launch team", role: "admin" });
    const details = (await (await call("GET", `/api/rooms/${room.id}`, b!)).json()) as {
      room: RoomView;
      members: { id: string; role: string }[];
    };
    expect(details.room.role).toBe("member");
    expect(Object.fromEntries(details.members.map((m) => [m.id, m.role]))).toEqual({ [a!]: "admin", [b!]: "member", [c!]: "member" });
  });

  it("accepts titles of 1 and 100 characters and refuses empty, blank and 101", async () => {
    const [a, b] = await people("a", "b");
    await createGroup(a!, [b!], "x");
    await createGroup(a!, [b!], "y".repeat(100));
    for (const title of ["", "   ", "z".repeat(101)]) {
      await expectError(await call("POST", "/api/rooms/group", a!, { title, members: [b] }), 400, "bad_request");
    }
  });

  it("refuses a group with nobody else, or with unknown people", async () => {
    const [a] = await people("a");
    await expectError(await call("POST", "/api/rooms/group", a!, { title: "t", members: [] }), 400, "bad_request");
    await expectError(await call("POST", "/api/rooms/group", a!, { title: "t", members: [a] }), 400, "bad_request");
    await expectError(await call("POST", "/api/rooms/group", a!, { title: "t", members: ["ghost-user"] }), 400, "bad_request");
  });

  it("lets admins add members and change roles, and nobody else", async () => {
    const [admin, member, newcomer] = await people("admin", "member", "new");
    const room = await createGroup(admin!, [member!]);
    await expectError(await call("POST", `/api/rooms/${room.id}/members`, member!, { userId: newcomer }), 403, "forbidden");
    const added = await call("POST", `/api/rooms/${room.id}/members`, admin!, { userId: newcomer });
    expect(added.status).toBe(201);
    await expectError(await call("POST", `/api/rooms/${room.id}/members`, admin!, { userId: newcomer }), 409, "conflict");
    await expectError(await call("PATCH", `/api/rooms/${room.id}/members/${newcomer}`, member!, { role: "admin" }), 403, "forbidden");
    const promoted = await call("PATCH", `/api/rooms/${room.id}/members/${newcomer}`, admin!, { role: "moderator" });
    expect(((await promoted.json()) as { member: { role: string } }).member.role).toBe("moderator");
    await expectError(await call("PATCH", `/api/rooms/${room.id}/members/${newcomer}`, admin!, { role: "owner" }), 400, "bad_request");
  });

  it("lets moderators remove members but not admins or other moderators", async () => {
    const [admin, mod, m1, mod2] = await people("admin", "mod", "m1", "mod2");
    const room = await createGroup(admin!, [mod!, m1!, mod2!]);
    await call("PATCH", `/api/rooms/${room.id}/members/${mod}`, admin!, { role: "moderator" });
    await call("PATCH", `/api/rooms/${room.id}/members/${mod2}`, admin!, { role: "moderator" });
    await expectError(await call("DELETE", `/api/rooms/${room.id}/members/${admin}`, mod!), 403, "forbidden");
    await expectError(await call("DELETE", `/api/rooms/${room.id}/members/${mod2}`, mod!), 403, "forbidden");
    expect((await call("DELETE", `/api/rooms/${room.id}/members/${m1}`, mod!)).status).toBe(204);
    await expectError(await call("GET", `/api/rooms/${room.id}/messages`, m1!), 403, "forbidden");
  });

  it("lets a member leave, but not the last admin until they name another", async () => {
    const [admin, m1, m2] = await people("admin", "m1", "m2");
    const room = await createGroup(admin!, [m1!, m2!]);
    expect((await call("DELETE", `/api/rooms/${room.id}/members/${m2}`, m2!)).status).toBe(204);
    await expectError(await call("DELETE", `/api/rooms/${room.id}/members/${admin}`, admin!), 409, "conflict");
    await expectError(await call("PATCH", `/api/rooms/${room.id}/members/${admin}`, admin!, { role: "member" }), 409, "conflict");
    expect((await call("DELETE", `/api/rooms/${room.id}/members/${admin}?successor=${m1}`, admin!)).status).toBe(204);
    const details = (await (await call("GET", `/api/rooms/${room.id}`, m1!)).json()) as { members: { id: string; role: string }[] };
    expect(details.members).toEqual([{ id: m1, name: m1, role: "admin" }]);
  });

  it("makes a role change take effect at once: a new moderator can delete others' messages", async () => {
    const [admin, author, helper] = await people("admin", "author", "helper");
    const room = await createGroup(admin!, [author!, helper!]);
    const posted = await call("POST", `/api/rooms/${room.id}/messages`, author!, { clientId: "c1", text: "oops" });
    const { message } = (await posted.json()) as { message: Message };
    await expectError(await call("DELETE", `/api/rooms/${room.id}/messages/${message.id}`, helper!), 403, "forbidden");
    await call("PATCH", `/api/rooms/${room.id}/members/${helper}`, admin!, { role: "moderator" });
    const deleted = await call("DELETE", `/api/rooms/${room.id}/messages/${message.id}`, helper!);
    expect(deleted.status).toBe(200);
    expect(((await deleted.json()) as { message: Message }).message).toMatchObject({ seq: 1, text: "", deletedAt: expect.any(String) });
  });

  it("lets only the author edit a message", async () => {
    const [admin, author] = await people("admin", "author");
    const room = await createGroup(admin!, [author!]);
    const { message } = (await (await call("POST", `/api/rooms/${room.id}/messages`, author!, { clientId: "c", text: "v1" })).json()) as {
      message: Message;
    };
    await expectError(await call("PATCH", `/api/rooms/${room.id}/messages/${message.id}`, admin!, { text: "hijack" }), 403, "forbidden");
    const edited = await call("PATCH", `/api/rooms/${room.id}/messages/${message.id}`, author!, { text: "v2" });
    expect(((await edited.json()) as { message: Message }).message).toMatchObject({ text: "v2", editedAt: expect.any(String) });
  });
});

describe("removing a member", () => {
  it("closes their open sockets with 1008, tells the room they left, and refuses their next call", async () => {
    const [admin, gone] = await people("admin", "gone");
    const room = await createGroup(admin!, [gone!]);
    const { socket: adminSocket } = await connect(room.id, admin!);
    const { socket } = await connect(room.id, gone!);
    expect((await call("DELETE", `/api/rooms/${room.id}/members/${gone}`, admin!)).status).toBe(204);
    expect((await socket.waitClosed()).code).toBe(1008);
    await adminSocket.next("presence", (p) => p.userId === gone && p.status === "offline");
    await expectError(await call("POST", `/api/rooms/${room.id}/messages`, gone!, { clientId: "x", text: "still here?" }), 403, "forbidden");
    expect((await openSocket(room.id, await tokenFor(gone!))).status).toBe(403);
  });
});

describe("website visitors", () => {
  async function visit(name: string, ip: string) {
    const res = await api("/api/auth/visitor", { method: "POST", json: { name }, headers: { "cf-connecting-ip": ip } });
    expect(res.status).toBe(200);
    return (await res.json()) as { token: string; user: { id: string; name: string; kind: string }; roomId: string };
  }

  it("get a visitor token and a private room with the staff", async () => {
    await ensureUsers(["staff1", "staff2"]);
    const v = await visit("  Guest  ", uniqueId("ip"));
    expect(v.user).toMatchObject({ name: "Guest", kind: "visitor" });
    const res = await openSocket(v.roomId, v.token);
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    res.webSocket!.close();
    const staffView = (await (await call("GET", "/api/rooms?limit=200", "staff1")).json()) as { rooms: RoomView[] };
    expect(staffView.rooms.find((r) => r.id === v.roomId)).toMatchObject({ kind: "visitor", title: "Visitor: Guest", role: "admin" });
  });

  it("see only their own room", async () => {
    const ip = uniqueId("ip");
    const v1 = await visit("One", ip);
    const v2 = await visit("Two", ip);
    expect((await openSocket(v2.roomId, v1.token)).status).toBe(403);
    expect((await openSocket("community", v1.token)).status).toBe(403);
    const list = (await (await api("/api/rooms", { token: v1.token })).json()) as { rooms: RoomView[] };
    expect(list.rooms.map((r) => r.id)).toEqual([v1.roomId]);
  });

  it("cannot create rooms or read the member directory", async () => {
    const v = await visit("Nosy", uniqueId("ip"));
    await expectError(await api("/api/rooms/direct", { method: "POST", token: v.token, json: { userId: "alice" } }), 403, "forbidden");
    await expectError(await api("/api/rooms/group", { method: "POST", token: v.token, json: { title: "x", members: ["alice"] } }), 403, "forbidden");
    await expectError(await api("/api/users?q=a", { token: v.token }), 403, "forbidden");
  });

  it("need a display name of 1 to 64 characters", async () => {
    const ip = uniqueId("ip");
    await visit("v".repeat(64), ip);
    for (const name of ["", "  ", "v".repeat(65)]) {
      await expectError(await api("/api/auth/visitor", { method: "POST", json: { name }, headers: { "cf-connecting-ip": ip } }), 400, "bad_request");
    }
  });
});

describe("the member directory", () => {
  it("finds members by id or name prefix", async () => {
    const [zed] = await people("zedd");
    const res = await call("GET", `/api/users?q=${zed!.slice(0, 8)}`, "alice");
    expect(((await res.json()) as { users: { id: string }[] }).users.map((u) => u.id)).toContain(zed);
  });
});

describe("authorization everywhere", () => {
  it("answers non-members with 403 on every route and the socket, and unknown rooms with 404", async () => {
    const room = await uniqueRoom();
    const [outsider] = await people("outsider");
    const paths: [string, string, unknown?][] = [
      ["GET", `/api/rooms/${room}`],
      ["GET", `/api/rooms/${room}/messages`],
      ["POST", `/api/rooms/${room}/messages`, { clientId: "x", text: "hi" }],
      ["GET", `/api/rooms/${room}/presence`],
      ["POST", `/api/rooms/${room}/read`, { seq: 1 }],
      ["POST", `/api/rooms/${room}/members`, { userId: outsider }],
      ["PATCH", `/api/rooms/${room}/members/alice`, { role: "member" }],
      ["DELETE", `/api/rooms/${room}/members/alice`],
      ["PATCH", `/api/rooms/${room}/messages/some-id`, { text: "x" }],
      ["DELETE", `/api/rooms/${room}/messages/some-id`],
    ];
    for (const [method, path, body] of paths) await expectError(await call(method, path, outsider!, body), 403, "forbidden");
    expect((await openSocket(room, await tokenFor(outsider!))).status).toBe(403);
    const missing = uniqueId("missing");
    await expectError(await call("GET", `/api/rooms/${missing}/messages`, outsider!), 404, "not_found");
    await expectError(await call("GET", `/api/rooms/${missing}`, outsider!), 404, "not_found");
    expect((await openSocket(missing, await tokenFor(outsider!))).status).toBe(404);
  });

  it("refuses tampered room-list cursors", async () => {
    for (const cursor of ["garbage", btoa("[1,2]"), btoa(JSON.stringify(["2024-01-01T00:00:00Z", "../etc"])), "%%%"]) {
      await expectError(await call("GET", `/api/rooms?cursor=${encodeURIComponent(cursor)}`, "alice"), 400, "bad_request");
    }
  });

  it("refuses tokens whose display name is empty or over 64 characters", async () => {
    const room = await uniqueRoom();
    expect((await api(`/api/rooms/${room}/messages`, { token: await tokenFor("alice", "a".repeat(64)) })).status).toBe(200);
    await expectError(await api(`/api/rooms/${room}/messages`, { token: await tokenFor("alice", "a".repeat(65)) }), 401, "unauthorized");
    await expectError(await api(`/api/rooms/${room}/messages`, { token: await tokenFor("alice", "   ") }), 401, "unauthorized");
  });
});

describe("the room list", () => {
  it("shows each room's kind, title, role, last message and unread count, newest activity first", async () => {
    const [me, friend, other] = await people("me", "friend", "other");
    const group = await createGroup(other!, [me!], "Book club");
    const dm = ((await (await call("POST", "/api/rooms/direct", me!, { userId: friend })).json()) as { room: RoomView }).room;
    for (let i = 1; i <= 3; i++) await call("POST", `/api/rooms/${group.id}/messages`, other!, { clientId: `g${i}`, text: `chapter ${i}` });
    await call("POST", `/api/rooms/${dm.id}/messages`, friend!, { clientId: "d1", text: "hey" });
    await flush(group.id);
    await flush(dm.id);
    const { rooms } = (await (await call("GET", "/api/rooms", me!)).json()) as { rooms: RoomView[] };
    const mine = rooms.filter((r) => r.id !== "community");
    expect(mine.map((r) => r.id)).toEqual([dm.id, group.id]);
    expect(mine[0]).toMatchObject({ kind: "direct", title: friend, role: "member", unread: 1, lastMessage: { text: "hey" } });
    expect(mine[1]).toMatchObject({ kind: "group", title: "Book club", role: "member", unread: 3, lastMessage: { text: "chapter 3" } });
    // Writing a message means having read up to it.
    const theirs = (await (await call("GET", "/api/rooms", other!)).json()) as { rooms: RoomView[] };
    expect(theirs.rooms.find((r) => r.id === group.id)).toMatchObject({ role: "admin", unread: 0 });

    expect((await call("POST", `/api/rooms/${group.id}/read`, me!, { seq: 2 })).status).toBe(204);
    await flush(group.id);
    const after = (await (await call("GET", "/api/rooms", me!)).json()) as { rooms: RoomView[] };
    expect(after.rooms.find((r) => r.id === group.id)!.unread).toBe(1);
  });

  it("sends read receipts to the room when a member reads over the socket", async () => {
    const room = await uniqueRoom();
    const { socket: alice } = await connect(room, "alice");
    const { socket: bob } = await connect(room, "bob");
    const ack = await sendAndAck(alice, "read me");
    bob.send({ type: "read", seq: ack.seq });
    expect(await alice.next("read")).toEqual({ type: "read", userId: "bob", seq: 1 });
  });

  it("pages through 1,000 rooms with one indexed query per page", async () => {
    const [me] = await people("busy");
    const base = Date.parse("2026-01-01T00:00:00Z");
    const statements = [];
    for (let i = 0; i < 1000; i++) {
      const id = `bulk-${me}-${i}`.slice(0, 64);
      const at = new Date(base + i * 1000).toISOString();
      statements.push(
        env.DB.prepare("INSERT INTO rooms (id, kind, title, created_at, last_activity_at) VALUES (?, 'group', ?, ?, ?)").bind(id, `Room ${i}`, at, at),
        env.DB.prepare("INSERT INTO members (room_id, user_id, role, joined_at) VALUES (?, ?, 'member', ?)").bind(id, me, at),
      );
    }
    await env.DB.batch(statements);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call("GET", `/api/rooms?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, me!);
      const page = (await res.json()) as { rooms: RoomView[]; nextCursor: string | null };
      seen.push(...page.rooms.map((r) => r.title ?? ""));
      cursor = page.nextCursor;
    } while (cursor);
    const titles = seen.filter((t) => t.startsWith("Room "));
    expect(titles).toHaveLength(1000);
    expect(titles[0]).toBe("Room 999");
    expect(titles.at(-1)).toBe("Room 0");

    const plan = await env.DB.prepare(
      "EXPLAIN QUERY PLAN SELECT r.id FROM members m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = ? ORDER BY r.last_activity_at DESC",
    )
      .bind(me)
      .all<{ detail: string }>();
    const detail = plan.results.map((r) => r.detail).join("\n");
    expect(detail).toMatch(/members_user/);
    expect(detail).not.toMatch(/SCAN m\b|SCAN members/);
  });
});
