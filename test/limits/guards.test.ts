import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config";
import { PING } from "../../src/protocol";
import { GRACE } from "../../src/room/flood";
import { DUPLICATE_WINDOW_MS } from "../../src/room/guards";
import type { Room } from "../../src/room/Room";
import { call, connect, createGroup, expectError, partsOf, people, roomStubOf, sendAndAck, type RoomView } from "../helpers";
import { BACKEND, awayFromWindowEdge } from "./helpers";

const post = (roomId: string, user: string, text: string) =>
  call("POST", `/api/rooms/${roomId}/messages`, user, { clientId: crypto.randomUUID(), text });

/** Moves a user's remembered sends in a room `ms` into the past. */
const age = (roomId: string, userId: string, ms: number) =>
  runInDurableObject(roomStubOf(roomId), (_room: Room, state) => {
    state.storage.sql.exec("UPDATE recent_sends SET at = at - ? WHERE user_id = ?", ms, userId);
    state.storage.sql.exec("UPDATE slow_sends SET at = at - ? WHERE user_id = ?", ms, userId);
  });

describe(`The duplicate guard (${BACKEND})`, () => {
  it("refuses the same normalised text within 10 s even after the room was evicted, and not after", async () => {
    const [alice, bob] = await people("alice", "bob");
    const room = (await createGroup(alice!, [bob!])).id;
    expect((await post(room, alice!, "Meet at  noon?")).status).toBe(201);
    await evictDurableObject(roomStubOf(room));
    await expectError(await post(room, alice!, "  meet AT noon? "), 409, "duplicate");
    // Someone else may say the same; alice may say something else.
    expect((await post(room, bob!, "Meet at noon?")).status).toBe(201);
    expect((await post(room, alice!, "Meet at one?")).status).toBe(201);
    await age(room, alice!, DUPLICATE_WINDOW_MS - 1000);
    await expectError(await post(room, alice!, "meet at noon?"), 409, "duplicate");
    await age(room, alice!, 1001);
    expect((await post(room, alice!, "meet at noon?")).status).toBe(201);
  });

  it("still acks a retry of the same clientId, which is not a duplicate", async () => {
    const [alice] = await people("alice");
    const room = (await createGroup(alice!, (await people("bob")))).id;
    const { socket } = await connect(room, alice!);
    const first = await sendAndAck(socket, "hello there", "retry-me");
    await evictDurableObject(roomStubOf(room));
    const { socket: again } = await connect(room, alice!);
    expect(await sendAndAck(again, "hello there", "retry-me")).toEqual(first);
  });

  it("stores a resend whose first attempt the guard remembered but a crash lost before it was stored", async () => {
    const [alice] = await people("alice");
    const room = (await createGroup(alice!, (await people("bob")))).id;
    const { socket } = await connect(room, alice!);
    // What a crash between the guard's write and the message's leaves behind.
    await runInDurableObject(roomStubOf(room), async (_room: Room, state) => {
      state.storage.sql.exec("INSERT INTO recent_sends (user_id, text, at, client_id) VALUES (?, 'lost in a crash', ?, 'lost-1')", alice, Date.now());
    });
    const ack = await sendAndAck(socket, "lost in a crash", "lost-1");
    expect(ack.seq).toBe(1);
    socket.send({ type: "send", clientId: "other-2", text: "Lost  in a CRASH" });
    expect((await socket.next("error")).code).toBe("duplicate");
  });
});

describe(`Slow mode (${BACKEND})`, () => {
  it("is set by a group's admins to 0..120 s and shows on the room", async () => {
    const [admin, member] = await people("admin", "member");
    const room = (await createGroup(admin!, [member!])).id;
    await expectError(await call("PATCH", `/api/rooms/${room}`, member!, { slowModeSeconds: 10 }), 403, "forbidden");
    await expectError(await call("PATCH", `/api/rooms/${room}`, admin!, { slowModeSeconds: 121 }), 400, "bad_request");
    await expectError(await call("PATCH", `/api/rooms/${room}`, admin!, { slowModeSeconds: -1 }), 400, "bad_request");
    await expectError(await call("PATCH", `/api/rooms/${room}`, admin!, { slowModeSeconds: 1.5 }), 400, "bad_request");
    await expectError(await call("PATCH", `/api/rooms/${room}`, admin!, {}), 400, "bad_request");
    const max = await call("PATCH", `/api/rooms/${room}`, admin!, { slowModeSeconds: 120 });
    expect(max.status).toBe(200);
    expect(((await max.json()) as { room: RoomView & { slowModeSeconds: number } }).room.slowModeSeconds).toBe(120);
    const renamed = await call("PATCH", `/api/rooms/${room}`, admin!, { title: "Renamed", slowModeSeconds: 0 });
    expect(((await renamed.json()) as { room: RoomView }).room).toMatchObject({ title: "Renamed", slowModeSeconds: 0 });
    const details = (await (await call("GET", `/api/rooms/${room}`, member!)).json()) as { room: RoomView };
    expect(details.room).toMatchObject({ title: "Renamed", slowModeSeconds: 0 });
  });

  it("cannot be set on a direct room", async () => {
    const [alice, bob] = await people("alice", "bob");
    const dm = (await (await call("POST", "/api/rooms/direct", alice!, { userId: bob })).json()) as { room: RoomView };
    await expectError(await call("PATCH", `/api/rooms/${dm.room.id}`, alice!, { slowModeSeconds: 5 }), 403, "forbidden");
  });

  it("lets each member send once per interval, on REST and sockets, and exempts admins and moderators", async () => {
    const [admin, mod, member] = await people("admin", "mod", "member");
    const room = (await createGroup(admin!, [mod!, member!])).id;
    expect((await call("PATCH", `/api/rooms/${room}/members/${mod}`, admin!, { role: "moderator" })).status).toBe(200);
    expect((await call("PATCH", `/api/rooms/${room}`, admin!, { slowModeSeconds: 30 })).status).toBe(200);

    expect((await post(room, member!, "first")).status).toBe(201);
    const refused = await post(room, member!, "second");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(28);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(30);
    await expectError(refused, 429, "rate_limited");
    const { socket } = await connect(room, member!);
    socket.send({ type: "send", clientId: "too-soon", text: "over the socket" });
    const error = await socket.next("error");
    expect(error).toMatchObject({ code: "rate_limited", clientId: "too-soon" });
    expect(error.retryAfter).toBeGreaterThan(28);

    for (const exempt of [admin!, mod!]) {
      for (const text of ["one", "two", "three"]) expect((await post(room, exempt, `${exempt} ${text}`)).status).toBe(201);
    }
    // Just inside the interval: still refused; just past it: one more.
    await age(room, member!, 29_000);
    await expectError(await post(room, member!, "almost"), 429, "rate_limited");
    await age(room, member!, 1001);
    expect((await sendAndAck(socket, "now")).seq).toBeGreaterThan(0);
    await expectError(await post(room, member!, "and again too soon"), 429, "rate_limited");
  });

  it("is remembered across an eviction, and 0 turns it off", async () => {
    const [admin, member] = await people("admin", "member");
    const room = (await createGroup(admin!, [member!])).id;
    await call("PATCH", `/api/rooms/${room}`, admin!, { slowModeSeconds: 60 });
    expect((await post(room, member!, "one")).status).toBe(201);
    await evictDurableObject(roomStubOf(room));
    await expectError(await post(room, member!, "two"), 429, "rate_limited");
    await call("PATCH", `/api/rooms/${room}`, admin!, { slowModeSeconds: 0 });
    expect((await post(room, member!, "two")).status).toBe(201);
    expect((await post(room, member!, "three")).status).toBe(201);
  });
});

describe(`The frame budget (${BACKEND})`, () => {
  const FRAMES = readConfig(env).rates.frames;

  it("is 240 frames a minute per socket, from wrangler.toml", () => {
    expect(FRAMES).toEqual({ limit: 240, windowMs: 60_000 });
  });

  it("passes the 240th frame, answers the 241st with rate_limited, drops the next and closes a socket that keeps going with 1008", async () => {
    const [alice, bob] = await people("alice", "bob");
    const room = (await createGroup(alice!, [bob!])).id;
    await awayFromWindowEdge();
    const { socket } = await connect(room, alice!);
    // Pings do not count, even ones the runtime does not answer by itself.
    for (let i = 0; i < 300; i++) socket.send(i % 2 ? PING : '{ "type": "ping" }');
    for (let i = 0; i < 239; i++) socket.send({ type: "typing", on: i % 2 === 0 });
    socket.send({ type: "sync", after: 0 });
    await socket.next("sync");
    expect(socket.all("error")).toEqual([]);

    socket.send({ type: "presence", status: "away" });
    const error = await socket.next("error");
    expect(error).toMatchObject({ code: "rate_limited" });
    expect(error.retryAfter).toBeGreaterThanOrEqual(1);
    // The refused frame did nothing: nobody saw alice go away.
    const { socket: watcher } = await connect(room, bob!);
    expect(watcher.all("presence").filter((p) => p.status === "away")).toEqual([]);

    for (let i = 0; i < GRACE; i++) socket.send({ type: "typing", on: true });
    socket.send({ type: "read", seq: 0 });
    expect(await socket.waitClosed()).toMatchObject({ code: 1008 });
    expect(socket.all("error")).toHaveLength(1);
    // Other sockets, the user's own included, are untouched.
    const { socket: fresh } = await connect(room, alice!);
    expect((await sendAndAck(fresh, "still here")).seq).toBe(1);
  });
});

describe(`The socket cap (${BACKEND})`, () => {
  it("keeps 10 sockets per user per room: the 11th closes the oldest with 4008, quietly for the room", async () => {
    const cap = readConfig(env).maxSocketsPerRoom;
    expect(cap).toBe(10);
    const [alice, bob] = await people("alice", "bob");
    const room = (await createGroup(alice!, [bob!])).id;
    const { socket: watcher } = await connect(room, bob!);
    const sockets = [];
    for (let i = 0; i < cap; i++) sockets.push((await connect(room, alice!)).socket);
    const { socket: eleventh } = await connect(room, alice!);
    const closed = await sockets[0]!.waitClosed();
    expect(closed.code).toBe(4008);
    expect(closed.reason).toMatch(/oldest/);
    expect(sockets.slice(1).every((s) => s.closed === null)).toBe(true);
    const open = await runInDurableObject(roomStubOf(room), (r: Room) => partsOf(r).connections.socketsOf(alice!).length);
    expect(open).toBe(cap);
    // Alice never went offline, and her new socket works.
    await sendAndAck(eleventh, "from the eleventh");
    await watcher.next("message");
    expect(watcher.all("presence").filter((p) => p.userId === alice && p.status === "offline")).toEqual([]);
    // Another user in the same room has a cap of their own.
    const { socket: bobsSecond } = await connect(room, bob!);
    expect(bobsSecond.closed).toBeNull();
  });
});
