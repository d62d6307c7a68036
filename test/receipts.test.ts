import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Message } from "../src/protocol";
import type { Room } from "../src/room/Room";
import { READ_PUSH_GAP_MS } from "../src/room/flusher";
import { call, connect, createGroup, expectError, flush, partsOf, people, postAs, roomStubOf, type RoomView } from "./helpers";



async function unread(roomId: string, user: string): Promise<number> {
  const { rooms } = (await (await call("GET", "/api/rooms", user)).json()) as { rooms: RoomView[] };
  return rooms.find((r) => r.id === roomId)!.unread;
}

async function history(roomId: string, user: string): Promise<Message[]> {
  return ((await (await call("GET", `/api/rooms/${roomId}/messages`, user)).json()) as { messages: Message[] }).messages;
}

describe("read positions", () => {
  it("move the room list's unread count at once, by REST and by socket", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    for (let i = 1; i <= 3; i++) await postAs(room.id, a!, `news ${i}`);
    await flush(room.id);
    expect(await unread(room.id, b!)).toBe(3);
    expect((await call("POST", `/api/rooms/${room.id}/read`, b!, { seq: 2 })).status).toBe(204);
    expect(await unread(room.id, b!)).toBe(1);
    const { socket } = await connect(room.id, b!);
    socket.send({ type: "read", seq: 3 });
    await socket.next("read", (f) => f.userId === b && f.seq === 3);
    expect(await unread(room.id, b!)).toBe(0);
    socket.close();
  });

  it("only move forward, and a read behind or at the position broadcasts nothing", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    for (let i = 1; i <= 3; i++) await postAs(room.id, a!, `m${i}`);
    const watcher = await connect(room.id, a!);
    await call("POST", `/api/rooms/${room.id}/read`, b!, { seq: 3 });
    await call("POST", `/api/rooms/${room.id}/read`, b!, { seq: 1 });
    await call("POST", `/api/rooms/${room.id}/read`, b!, { seq: 3 });
    // Reading past the end reads up to the last message.
    await postAs(room.id, a!, "m4");
    await call("POST", `/api/rooms/${room.id}/read`, b!, { seq: 99 });
    await watcher.socket.next("read", (f) => f.seq === 4);
    expect(watcher.socket.all("read").filter((f) => f.userId === b).map((f) => f.seq)).toEqual([3, 4]);
    await expectError(await call("POST", `/api/rooms/${room.id}/read`, b!, { seq: -1 }), 400, "bad_request");
    watcher.socket.close();
  });

  it("give every message a readBy count of the other members who reached it, and list them", async () => {
    const [a, b, c, d] = await people("a", "b", "c", "d");
    const room = await createGroup(a!, [b!, c!, d!]);
    const m1 = await postAs(room.id, a!, "one");
    const m2 = await postAs(room.id, a!, "two");
    expect(m2.readBy).toBe(0);
    await call("POST", `/api/rooms/${room.id}/read`, b!, { seq: m2.seq });
    await call("POST", `/api/rooms/${room.id}/read`, c!, { seq: m1.seq });
    const [h1, h2] = await history(room.id, d!);
    expect([h1!.readBy, h2!.readBy]).toEqual([2, 1]);
    const res = await call("GET", `/api/rooms/${room.id}/messages/${m1.id}/reads`, d!);
    const { readBy } = (await res.json()) as { readBy: { id: string; name: string }[] };
    expect(readBy.map((u) => u.id).sort()).toEqual([b, c].sort());
    expect(readBy[0]).toHaveProperty("name");
    // A reply by c means c read up to it too.
    await postAs(room.id, c!, "three");
    expect((await history(room.id, d!)).find((m) => m.id === m2.id)!.readBy).toBe(2);
    await expectError(await call("GET", `/api/rooms/${room.id}/messages/nope/reads`, d!), 404, "not_found");
    const [outsider] = await people("outsider");
    await expectError(await call("GET", `/api/rooms/${room.id}/messages/${m1.id}/reads`, outsider!), 403, "forbidden");
  });

  it("count no one twice and forget members who leave", async () => {
    const [a, b, c] = await people("a", "b", "c");
    const room = await createGroup(a!, [b!, c!]);
    const m = await postAs(room.id, a!, "hello");
    await call("POST", `/api/rooms/${room.id}/read`, b!, { seq: m.seq });
    await call("POST", `/api/rooms/${room.id}/read`, c!, { seq: m.seq });
    expect((await history(room.id, a!))[0]!.readBy).toBe(2);
    expect((await call("DELETE", `/api/rooms/${room.id}/members/${c}`, a!)).status).toBe(204);
    expect((await history(room.id, a!))[0]!.readBy).toBe(1);
  });

  it("share D1 writes: a burst of reads from many members costs a few writes, not one each", async () => {
    const users = await people(...Array.from({ length: 30 }, (_, i) => `reader${i}`));
    const room = await createGroup(users[0]!, users.slice(1));
    const m = await postAs(room.id, users[0]!, "read me");
    const stub = roomStubOf(room.id);
    const writes = await runInDurableObject(stub, async (r: Room) => {
      const p = partsOf(r);
      let count = 0;
      const original = p.archive.writeReads.bind(p.archive);
      p.archive.writeReads = (roomId, reads) => (count++, original(roomId, reads));
      await Promise.all(users.slice(1).map((u) => r.markRead(room.id, { id: u, name: u, kind: "member" }, m.seq)));
      p.archive.writeReads = original;
      return count;
    });
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThanOrEqual(3);
    const { results } = await env.DB.prepare("SELECT count(*) AS n FROM members WHERE room_id = ? AND last_read_seq = ?")
      .bind(room.id, m.seq)
      .all<{ n: number }>();
    expect(results[0]!.n).toBe(29);
  });

  it("write a steady stream of reads to D1 at most once per gap, not once per read", async () => {
    const users = await people(...Array.from({ length: 20 }, (_, i) => `steady${i}`));
    const room = await createGroup(users[0]!, users.slice(1));
    const m = await postAs(room.id, users[0]!, "read me slowly");
    const stub = roomStubOf(room.id);
    const { writes, elapsed } = await runInDurableObject(stub, async (r: Room) => {
      const p = partsOf(r);
      let count = 0;
      const original = p.archive.writeReads.bind(p.archive);
      p.archive.writeReads = (roomId, reads) => (count++, original(roomId, reads));
      const started = Date.now();
      const done: Promise<unknown>[] = [];
      for (const u of users.slice(1)) {
        done.push(r.markRead(room.id, { id: u, name: u, kind: "member" }, m.seq));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await Promise.all(done);
      p.archive.writeReads = original;
      return { writes: count, elapsed: Date.now() - started };
    });
    // One write per READ_PUSH_GAP_MS of the stream (plus the first and the last), never one per read.
    expect(writes).toBeLessThanOrEqual(Math.ceil(elapsed / READ_PUSH_GAP_MS) + 2);
    expect(writes).toBeLessThan(19);
    const { results } = await env.DB.prepare("SELECT count(*) AS n FROM members WHERE room_id = ? AND last_read_seq = ?")
      .bind(room.id, m.seq)
      .all<{ n: number }>();
    expect(results[0]!.n).toBe(19);
  });
});

describe("receipts in a room of 5,000 members", () => {
  it("keep one position per member, not one row per message and reader", async () => {
    const [a] = await people("a");
    const room = await createGroup(a!, [(await people("b"))[0]!]);
    const stub = roomStubOf(room.id);
    const counts = await runInDurableObject(stub, (r: Room, state) => {
      const p = partsOf(r);
      const author = { id: a!, name: a! };
      const sent = Array.from({ length: 10 }, (_, i) => p.store.insert(room.id, { clientId: null, author, text: `m${i}`, replyTo: null }));
      // Member i has read up to message i % 10.
      for (let i = 0; i < 5000; i++) p.reads.advance(`member-${i}`, sent[i % 10]!.seq);
      const rows = (table: string) => state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
      return { reads: rows("reads"), messages: rows("messages"), readBy: sent.map((m) => p.reads.readBy(m.seq, a!)) };
    });
    expect(counts.reads).toBe(5000);
    expect(counts.messages).toBe(10);
    // Message k is read by every member whose position is k or later: 500 per position.
    expect(counts.readBy).toEqual(Array.from({ length: 10 }, (_, k) => 5000 - 500 * k));
  });
});

describe("delivery status in a direct room", () => {
  it("goes sent, delivered (a socket of the other person got it), read", async () => {
    const [a, b] = await people("a", "b");
    const res = await call("POST", "/api/rooms/direct", a!, { userId: b });
    const room = ((await res.json()) as { room: RoomView }).room;
    const sent = await postAs(room.id, a!, "are you there?");
    expect(sent.status).toBe("sent");
    const alice = await connect(room.id, a!);
    const bob = await connect(room.id, b!);
    // Bob's socket received it on connect: Alice is told.
    const delivered = await alice.socket.next("updated", (f) => f.message.id === sent.id);
    expect(delivered.message.status).toBe("delivered");
    // With Bob connected, a new message is delivered as it is sent.
    alice.socket.send({ type: "send", clientId: "s-2", text: "ping" });
    const live = await alice.socket.next("message", (f) => f.message.text === "ping");
    expect(live.message.status).toBe("delivered");
    bob.socket.send({ type: "read", seq: live.message.seq });
    await alice.socket.next("read", (f) => f.userId === b);
    const after = await history(room.id, a!);
    expect(after.map((m) => m.status)).toEqual(["read", "read"]);
    expect(after.map((m) => m.readBy)).toEqual([1, 1]);
    alice.socket.close();
    bob.socket.close();
  });

  it("is absent in group rooms", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const m = await postAs(room.id, a!, "hello group");
    expect(m.status).toBeUndefined();
    expect(m.readBy).toBe(0);
  });
});
