/**
 * POST /api/admin/users/:userId/erase: every message of the user becomes a tombstone everywhere
 * (rooms, D1, quotes, search, room lists), their files and memberships go, their sockets close;
 * twice is harmless; an interrupted erasure resumes from its stored progress.
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { eraserStub, type Eraser } from "../src/admin/erasure";
import { objectKey } from "../src/attachments/store";
import type { Bindings } from "../src/env";
import type { Message } from "../src/protocol";
import type { Room } from "../src/room/Room";
import { asAdmin, eventually, tokenWithRoles } from "./admin-helpers";
import { api, call, connect, createGroup, expectError, flush, partsOf, people, postAs, roomStubOf, type RoomView, uploadAs } from "./helpers";

type Status = { userId: string; status: "running" | "done"; runs: number; failures: number; lastError: string | null; progress: { rooms: number; roomsDone: number } };

async function erase(userId: string): Promise<Status> {
  const res = await asAdmin("POST", `/api/admin/users/${userId}/erase`);
  expect(res.status).toBe(202);
  return ((await res.json()) as { erasure: Status }).erasure;
}

async function erased(userId: string): Promise<Status> {
  return eventually(async () => {
    const res = await asAdmin("GET", `/api/admin/users/${userId}/erase`);
    const { erasure } = (await res.json()) as { erasure: Status };
    return erasure.status === "done" ? erasure : null;
  }, `the erasure of ${userId}`);
}

async function history(roomId: string, user: string): Promise<Message[]> {
  const res = await call("GET", `/api/rooms/${roomId}/messages?limit=100`, user);
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: Message[] }).messages;
}

/** Drops every row the room holds (they are in D1 already): from now on they are read from D1. */
const pruneAll = async (roomId: string) => {
  await flush(roomId);
  await runInDurableObject(roomStubOf(roomId), (r: Room) => partsOf(r).store.prune(0));
};

/** Every column of every D1 row that could hold a message's text, as one string. */
async function everythingInD1(roomIds: string[]): Promise<string> {
  const list = JSON.stringify(roomIds);
  const tables = await env.DB.batch([
    env.DB.prepare("SELECT * FROM messages WHERE room_id IN (SELECT value FROM json_each(?))").bind(list),
    env.DB.prepare("SELECT * FROM rooms WHERE id IN (SELECT value FROM json_each(?))").bind(list),
    env.DB.prepare("SELECT * FROM attachments WHERE room_id IN (SELECT value FROM json_each(?))").bind(list),
  ]);
  return JSON.stringify(tables.map((t) => t.results));
}

async function ftsHits(word: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH ?").bind(`"${word}"`).first<{ n: number }>();
  return row!.n;
}

async function search(user: string, q: string) {
  const res = await call("GET", `/api/search?q=${encodeURIComponent(q)}`, user);
  return ((await res.json()) as { results: { message: Message }[] }).results;
}

async function listed(user: string, roomId: string): Promise<RoomView | undefined> {
  const { rooms } = (await (await call("GET", "/api/rooms", user)).json()) as { rooms: RoomView[] };
  return rooms.find((r) => r.id === roomId);
}

const membershipsInD1 = async (userId: string) =>
  (await env.DB.prepare("SELECT room_id FROM members WHERE user_id = ?").bind(userId).all<{ room_id: string }>()).results.map((r) => r.room_id);

/** Live (not deleted) messages of a user in D1. */
const liveInD1 = async (userId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE author_id = ? AND deleted_at IS NULL").bind(userId).first<{ n: number }>())!.n;

describe("who may erase", () => {
  it("refuses anyone without the admin role, and answers 404 for a user nobody has seen", async () => {
    const [a, b] = await people("a", "b");
    await expectError(await api(`/api/admin/users/${a}/erase`, { method: "POST" }), 401, "unauthorized");
    await expectError(await call("POST", `/api/admin/users/${a}/erase`, b!), 403, "forbidden");
    await expectError(await call("POST", `/api/admin/users/${a}/erase`, a!), 403, "forbidden");
    await expectError(await api(`/api/admin/users/${a}/erase`, { method: "POST", token: await tokenWithRoles(b!, ["staff"]) }), 403, "forbidden");
    await expectError(await call("GET", `/api/admin/users/${a}/erase`, b!), 403, "forbidden");
    await expectError(await asAdmin("POST", "/api/admin/users/nobody-ever-seen/erase"), 404, "not_found");
    await expectError(await asAdmin("POST", "/api/admin/users/not%20an%20id/erase"), 400, "bad_request");
    await expectError(await asAdmin("GET", `/api/admin/users/${a}/erase`), 404, "not_found");
  });
});

describe("erasing a user", () => {
  it("leaves nothing of their messages anywhere, removes their files and memberships, and closes their sockets", async () => {
    const [a, b, c] = await people("a", "b", "c");
    // Room 1: a is its only admin. Their first message (with a file) is quoted by b and only in D1;
    // their second is held by the room.
    const r1 = await createGroup(a!, [b!, c!]);
    const file = await uploadAs(r1.id, a!, "alpha file contents");
    const first = await call("POST", `/api/rooms/${r1.id}/messages`, a!, { clientId: "e-1", text: "alphasecret one", attachments: [file.id] });
    expect(first.status).toBe(201);
    const firstMessage = ((await first.json()) as { message: Message }).message;
    const reply = await postAs(r1.id, b!, "you should not post that", { replyTo: firstMessage.id });
    await pruneAll(r1.id);
    const second = await postAs(r1.id, a!, "alphasecret two");
    await postAs(r1.id, b!, "newer from b");
    // An upload a never sent goes too.
    const unsent = await uploadAs(r1.id, a!, "never sent");
    // Room 2: a's message is the last one, in D1 and held.
    const r2 = await createGroup(b!, [a!]);
    await postAs(r2.id, b!, "hello a");
    const last = await postAs(r2.id, a!, "bravosecret last");
    await flush(r2.id);
    // Room 3: a direct room, everything only in D1.
    const dm = await call("POST", "/api/rooms/direct", a!, { userId: b });
    const r3 = ((await dm.json()) as { room: RoomView }).room;
    await postAs(r3.id, a!, "charliesecret dm");
    await postAs(r3.id, a!, "charliesecret again");
    await pruneAll(r3.id);
    await flush(r1.id);

    expect((await listed(b!, r2.id))!.lastMessage).toMatchObject({ text: "bravosecret last" });
    expect(await ftsHits("alphasecret")).toBe(2);
    expect((await search(b!, "charliesecret")).length).toBe(2);

    const aSockets = [(await connect(r1.id, a!)).socket, (await connect(r2.id, a!)).socket];
    const { socket: bob } = await connect(r1.id, b!);

    const started = await erase(a!);
    expect(started).toMatchObject({ userId: a, status: expect.stringMatching(/running|done/) });
    const done = await erased(a!);
    expect(done.progress.roomsDone).toBe(done.progress.rooms);
    expect(done.progress.rooms).toBeGreaterThanOrEqual(3);

    // Their sockets are closed; the others heard of every change, the D1-only message's too.
    for (const s of aSockets) expect((await s.waitClosed()).code).toBe(1008);
    for (const id of [firstMessage.id, second.id]) {
      const updated = await bob.next("updated", (f) => f.message.id === id);
      expect(updated.message).toMatchObject({ text: "", deletedAt: expect.any(String), attachments: [] });
    }

    // History, quotes and catch-up.
    for (const room of [r1, r2, r3]) {
      const messages = await history(room.id, b!);
      for (const m of messages.filter((m) => m.author.id === a)) {
        expect(m).toMatchObject({ text: "", deletedAt: expect.any(String), attachments: [], reactions: {} });
      }
      expect(JSON.stringify(messages)).not.toMatch(/secret|alpha file/);
    }
    const quoted = (await history(r1.id, b!)).find((m) => m.id === reply.id)!;
    expect(quoted.replyTo).toMatchObject({ id: firstMessage.id, excerpt: "", deleted: true });
    bob.send({ type: "sync", after: 0 });
    expect(JSON.stringify(await bob.next("sync"))).not.toContain("secret");
    bob.close();

    // D1, every column; the search index; search; the room list.
    expect(await everythingInD1([r1.id, r2.id, r3.id])).not.toMatch(/secret|alpha file|never sent/);
    expect(await liveInD1(a!)).toBe(0);
    for (const word of ["alphasecret", "bravosecret", "charliesecret"]) {
      expect(await ftsHits(word)).toBe(0);
      expect(await search(b!, word)).toEqual([]);
    }
    expect((await listed(b!, r2.id))!.lastMessage).toMatchObject({ id: last.id, text: "", deletedAt: expect.any(String) });

    // Files: the message's and the unsent upload, objects and rows.
    for (const f of [file, unsent]) {
      expect(await env.FILES.head(objectKey(r1.id, f.id))).toBeNull();
      await expectError(await call("GET", f.url, b!), 404, "not_found");
    }

    // Memberships: in D1 and in each room's own copy; room 1 has a new admin.
    expect(await membershipsInD1(a!)).toEqual([]);
    for (const room of [r1, r2, r3]) await expectError(await call("GET", `/api/rooms/${room.id}/messages`, a!), 403, "forbidden");
    const { members } = (await (await call("GET", `/api/rooms/${r1.id}`, b!)).json()) as { members: { id: string; role: string }[] };
    expect(members.map((m) => m.id).sort()).toEqual([b, c].sort());
    expect(members.find((m) => m.id === b)!.role).toBe("admin");
    expect(await listed(a!, r1.id)).toBeUndefined();
  });

  it("is harmless twice, and a second erasure finds what came since", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(b!, [a!]);
    await postAs(room.id, a!, "deltasecret before");
    await erase(a!);
    const first = await erased(a!);
    expect(first.runs).toBe(1);

    // Erasing again changes nothing that is already erased.
    const before = await env.DB.prepare("SELECT id, rev, deleted_at FROM messages WHERE room_id = ?").bind(room.id).all();
    await erase(a!);
    expect((await erased(a!)).runs).toBe(2);
    expect((await env.DB.prepare("SELECT id, rev, deleted_at FROM messages WHERE room_id = ?").bind(room.id).all()).results).toEqual(before.results);

    // Erasure is not a ban: in the community the user can still post; erasing again catches it.
    await postAs("community", a!, "deltasecret after");
    await flush("community");
    expect(await liveInD1(a!)).toBe(1);
    await erase(a!);
    await erased(a!);
    expect(await liveInD1(a!)).toBe(0);
    expect(await ftsHits("deltasecret")).toBe(0);
  });

  it("goes through a user's thousands of old messages in bounded batches", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(b!, [a!]);
    // 450 old messages straight into the room's storage, flushed, and dropped from the room.
    await runInDurableObject(roomStubOf(room.id), (r: Room) => {
      const { store } = partsOf(r);
      for (let i = 0; i < 450; i++) store.insert(room.id, { clientId: null, author: { id: a!, name: a! }, text: `echosecret ${i}`, replyTo: null });
    });
    await pruneAll(room.id);
    await postAs(room.id, a!, "echosecret held");
    await erase(a!);
    await erased(a!);
    expect(await liveInD1(a!)).toBe(0);
    expect(await ftsHits("echosecret")).toBe(0);
    const held = await runInDurableObject(roomStubOf(room.id), (r: Room) => partsOf(r).store.liveIdsBy(a!, 1000));
    expect(held).toEqual([]);
    // Every tombstone is one revision newer than the message was.
    const revs = await env.DB.prepare("SELECT DISTINCT rev FROM messages WHERE room_id = ? AND author_id = ?").bind(room.id, a).all<{ rev: number }>();
    expect(revs.results.map((r) => r.rev)).toEqual([2]);
  });
});

describe("a room adopting a message while D1 tombstones it", () => {
  it("reads the row again when the read overlapped the room's bulk write, so the text does not come back", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(b!, [a!]);
    const m = await postAs(room.id, a!, "indiasecret");
    await pruneAll(room.id);
    const row = await runInDurableObject(roomStubOf(room.id), async (r: Room) => {
      const { archive, store } = partsOf(r);
      // The read for adoption leaves first; the bulk tombstoning starts before it returns.
      const read = archive.byIdSettled(room.id, m.id);
      await archive.bulk(() => archive.tombstoneAuthor(room.id, a!, store.firstLocalSeq, 10, new Date().toISOString()));
      return read;
    });
    expect(row).toMatchObject({ id: m.id, text: "", deleted_at: expect.any(String), rev: 2 });
  });
});

describe("an interrupted erasure", () => {
  it("goes on from its stored progress after the object is evicted mid-way", async () => {
    const [a, b] = await people("a", "b");
    const rooms = [await createGroup(b!, [a!]), await createGroup(b!, [a!]), await createGroup(b!, [a!])];
    for (const room of rooms) {
      await postAs(room.id, a!, "foxtrotsecret old");
      await pruneAll(room.id);
      await postAs(room.id, a!, "foxtrotsecret new");
    }
    const stub = eraserStub(env, a!);
    // Started as the route starts it, but with its first alarm an hour away: the test drives it.
    await runInDurableObject(stub, (e: Eraser) => e.begin({ userId: a! }, Date.now() + 3600_000));
    // The plan, then one room.
    const partial = await runInDurableObject(stub, (e: Eraser) => e.runPieces(2));
    expect(partial).toMatchObject({ status: "running", progress: { roomsDone: 1 } });
    expect(partial!.progress.rooms).toBeGreaterThanOrEqual(3);
    expect(await liveInD1(a!)).toBeGreaterThan(0);

    // Cut off here. The alarm (the watchdog of a cut-off run) picks it up in a new instance.
    await evictDurableObject(stub);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const done = await erased(a!);
    expect(done).toMatchObject({ runs: 1, failures: 0 });
    expect(done.progress.roomsDone).toBe(done.progress.rooms);
    expect(await liveInD1(a!)).toBe(0);
    expect(await membershipsInD1(a!)).toEqual([]);
    for (const room of rooms) expect(JSON.stringify(await history(room.id, b!))).not.toContain("foxtrotsecret");
  });

  it("survives evictions while its alarms run", async () => {
    const [a, b] = await people("a", "b");
    const rooms = [await createGroup(b!, [a!]), await createGroup(b!, [a!])];
    for (const room of rooms) {
      await postAs(room.id, a!, "golfsecret old");
      await pruneAll(room.id);
      await postAs(room.id, a!, "golfsecret new");
    }
    await erase(a!);
    const stub = eraserStub(env, a!);
    for (let i = 0; i < 5; i++) {
      await evictDurableObject(stub).catch(() => {}); // rejects when the object is not running
      await new Promise((r) => setTimeout(r, 30));
    }
    await eventually(async () => {
      await runDurableObjectAlarm(stub); // the watchdog, without waiting 30 s for it
      const status = await runInDurableObject(stub, (e: Eraser) => e.status());
      return status?.status === "done";
    }, "the erasure to finish");
    expect(await liveInD1(a!)).toBe(0);
    expect(await membershipsInD1(a!)).toEqual([]);
  });

  it("retries a failing room with backoff and then finishes", async () => {
    const [a, b] = await people("a", "b");
    const rooms = [await createGroup(b!, [a!]), await createGroup(b!, [a!])];
    for (const room of rooms) await postAs(room.id, a!, "hotelsecret");
    const stub = eraserStub(env, a!);
    // The first call to a room fails, as a room that cannot be reached would.
    await runInDurableObject(stub, (e: Eraser) => {
      const self = e as unknown as { env: Bindings };
      const real = self.env;
      let failed = false;
      self.env = {
        ...real,
        ROOM: {
          idFromName: (name: string) => real.ROOM.idFromName(name),
          get: (id: DurableObjectId) => {
            const room = real.ROOM.get(id);
            return {
              eraseUser: (...args: Parameters<typeof room.eraseUser>) => {
                if (!failed) {
                  failed = true;
                  throw new Error("room unreachable (test)");
                }
                return room.eraseUser(...args);
              },
            };
          },
        } as unknown as Bindings["ROOM"],
      };
    });
    await erase(a!);
    const done = await erased(a!);
    expect(done).toMatchObject({ failures: 0, lastError: "room unreachable (test)" });
    expect(await liveInD1(a!)).toBe(0);
    for (const room of rooms) expect(JSON.stringify(await history(room.id, b!))).not.toContain("hotelsecret");
  });
});
