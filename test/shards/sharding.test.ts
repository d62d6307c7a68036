/**
 * Very large rooms, small (README, "Very large rooms"): with ROOM_SHARD_THRESHOLD at 2 (this
 * project's setting), a room holds two sockets itself and places the rest on shard objects, two
 * each. Real sockets through the Worker at the same URL as always; the room stays the only
 * writer, and every guarantee of a room without shards holds across them.
 */
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config";
import type { Message, OnlineUser } from "../../src/protocol";
import { upgradeRequest } from "../../src/room/handoff";
import type { Room } from "../../src/room/Room";
import { shardName } from "../../src/shard/protocol";
import type { RoomShard } from "../../src/shard/RoomShard";
import { api, call, connect, newClientId, partsOf, roomStubOf, sendAndAck, tokenFor, uniqueRoom, type TestSocket } from "../helpers";
import { layout } from "./layout";

const threshold = readConfig(env).roomShardThreshold;

const shardStubOf = (room: string, index: number) => env.ROOM_SHARD.get(env.ROOM_SHARD.idFromName(shardName(room, index)));

/** The sockets a shard object holds. */
const held = (room: string, index: number) => runInDurableObject(shardStubOf(room, index), (s: RoomShard) => s.roster().length);

/** Connects the users one after another (so the placement is known: two per object, in order). */
async function connectAll(room: string, users: string[]): Promise<TestSocket[]> {
  const sockets: TestSocket[] = [];
  for (const user of users) sockets.push((await connect(room, user)).socket);
  return sockets;
}

async function presenceList(room: string, asUser: string): Promise<OnlineUser[]> {
  const res = await api(`/api/rooms/${room}/presence`, { token: await tokenFor(asUser) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { online: OnlineUser[] }).online;
}

const seqs = (socket: TestSocket) => socket.all("message").map((m) => m.message.seq);
const closeAll = (sockets: TestSocket[]) => sockets.forEach((s) => s.close());

describe("a room with shards", () => {
  it("runs with two sockets per object in this project", () => {
    expect(threshold).toBe(2);
  });

  it("places sockets on the room until the threshold, then on shards in order, at the same URL", async () => {
    const room = await uniqueRoom("placed");
    const sockets = await connectAll(room, ["alice", "bob", "carol", "dana", "s1"]);
    expect(await layout(room)).toEqual({ here: 2, shards: { 0: 2, 1: 1 } });
    expect([await held(room, 0), await held(room, 1)]).toEqual([2, 1]);
    // A place freed on the first shard is taken first.
    sockets[2]!.close();
    await expect.poll(() => layout(room)).toEqual({ here: 2, shards: { 0: 1, 1: 1 } });
    sockets.push((await connect(room, "s2")).socket);
    expect(await layout(room)).toEqual({ here: 2, shards: { 0: 2, 1: 1 } });
    closeAll(sockets);
  });

  it("gives every socket across three shards the same messages in the same order, each send acked once", async () => {
    const room = await uniqueRoom("order");
    const users = ["alice", "bob", "carol", "dana", "s1", "s2", "s3", "s4"];
    const sockets = await connectAll(room, users);
    expect(await layout(room)).toEqual({ here: 2, shards: { 0: 2, 1: 2, 2: 2 } });

    // Senders on the room and on each shard, all at once.
    const senders = [sockets[0]!, sockets[2]!, sockets[4]!, sockets[6]!];
    const perSender = 15;
    const acks = await Promise.all(
      senders.flatMap((socket, s) =>
        Array.from({ length: perSender }, (_, i) => {
          const clientId = `s${s}-${i}`;
          socket.send({ type: "send", clientId, text: `from ${s} #${i}` });
          return socket.next("ack", (a) => a.clientId === clientId);
        }),
      ),
    );
    const total = senders.length * perSender;
    expect(acks.map((a) => a.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (const socket of sockets) await socket.until(() => socket.all("message").length >= total, "every message");
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    for (const socket of sockets) expect(seqs(socket)).toEqual(expected);
    // The same messages, not only the same numbers.
    const first = sockets[0]!.all("message").map((m) => m.message);
    for (const socket of sockets) expect(socket.all("message").map((m) => m.message)).toEqual(first);
    for (const [s, sender] of senders.entries()) {
      expect(sender.all("ack").filter((a) => a.clientId.startsWith(`s${s}-`))).toHaveLength(perSender);
    }
    closeAll(sockets);
  });

  it("acks a send from a shard's socket once, stores it once, and answers its resend with the same ack", async () => {
    const room = await uniqueRoom("resend");
    const [alice, , carol] = await connectAll(room, ["alice", "bob", "carol"]);
    const first = await sendAndAck(carol!, "once", "dup-1");
    const again = await sendAndAck(carol!, "once (resent)", "dup-1");
    expect(again).toEqual(first);
    await sendAndAck(carol!, "next");
    await alice!.until(() => alice!.all("message").length === 2, "two messages");
    expect(alice!.all("message").map((m) => m.message.text)).toEqual(["once", "next"]);
    expect(carol!.all("message").map((m) => m.message.text)).toEqual(["once", "next"]);
    expect(carol!.all("ack").filter((a) => a.clientId === "dup-1")).toEqual([first, first]);
    const res = await call("GET", `/api/rooms/${room}/messages?limit=100`, "alice");
    const { messages } = (await res.json()) as { messages: Message[] };
    expect(messages.map((m) => [m.seq, m.clientId, m.text])).toEqual([
      [1, "dup-1", "once"],
      [2, expect.any(String), "next"],
    ]);
  });

  it("answers a shard socket's sync with exactly what it missed", async () => {
    const room = await uniqueRoom("sync");
    const [alice, , carol] = await connectAll(room, ["alice", "bob", "carol"]);
    for (let i = 1; i <= 5; i++) await sendAndAck(alice!, `m${i}`);
    carol!.send({ type: "sync", after: 2 });
    const page = await carol!.next("sync");
    expect(page.messages.map((m) => m.text)).toEqual(["m3", "m4", "m5"]);
    expect(page.more).toBe(false);
  });

  it("sends typing to every other socket on every shard, none of the typist's own, and reactions to all", async () => {
    const room = await uniqueRoom("typing");
    // dana has a socket on shard 0 and one on shard 2.
    const sockets = await connectAll(room, ["alice", "bob", "carol", "dana", "s1", "s2", "dana", "s3"]);
    const danas = [sockets[3]!, sockets[6]!];
    const others = sockets.filter((s) => !danas.includes(s));
    danas[0]!.send({ type: "typing", on: true });
    for (const socket of others) expect(await socket.next("typing")).toMatchObject({ userId: "dana", on: true });
    // Once everyone has a message sent after it, the typist's own sockets still heard none of it.
    const posted = await sendAndAck(sockets[0]!, "react to me");
    for (const socket of sockets) await socket.next("message", (m) => m.message.id === posted.id);
    for (const socket of danas) expect(socket.all("typing")).toEqual([]);

    sockets[4]!.send({ type: "react", id: posted.id, emoji: "👍", on: true });
    for (const socket of sockets) {
      expect((await socket.next("updated", (u) => u.message.id === posted.id)).message.reactions).toEqual({ "👍": ["s1"] });
    }
    danas[1]!.send({ type: "typing", on: false });
    for (const socket of others) expect(await socket.next("typing", (t) => !t.on)).toMatchObject({ userId: "dana" });
    for (const socket of danas) expect(socket.all("typing")).toEqual([]);
    closeAll(sockets);
  });

  it("counts a user with sockets on two shards once, and announces them offline only after the last closes", async () => {
    const room = await uniqueRoom("twice");
    const [alice, bob, carol, phone, s1] = await connectAll(room, ["alice", "bob", "carol", "dana", "s1"]);
    await alice!.next("presence", (p) => p.userId === "dana" && p.status === "online");
    const { socket: laptop, welcome } = await connect(room, "dana", "dana");
    expect(await layout(room)).toEqual({ here: 2, shards: { 0: 2, 1: 2 } });
    expect(welcome.onlineCount).toBe(5);
    expect(welcome.online.filter((u) => u.id === "dana")).toHaveLength(1);
    expect((await presenceList(room, "alice")).filter((u) => u.id === "dana")).toEqual([{ id: "dana", name: "dana", status: "online" }]);

    phone!.close();
    await expect.poll(() => layout(room)).toEqual({ here: 2, shards: { 0: 1, 1: 2 } });
    // s2's join is announced after the phone's close: had the close been a change, it would be out by then.
    const { socket: s2 } = await connect(room, "s2");
    expect(await alice!.next("presence", (p) => p.userId === "s2")).toMatchObject({ status: "online", onlineCount: 6 });
    expect(alice!.all("presence").filter((p) => p.userId === "dana")).toHaveLength(1);

    laptop.close();
    expect(await alice!.next("presence", (p) => p.userId === "dana" && p.status === "offline")).toMatchObject({ onlineCount: 5 });
    expect(await s1!.next("presence", (p) => p.userId === "dana" && p.status === "offline")).toMatchObject({ onlineCount: 5 });
    closeAll([alice!, bob!, carol!, s1!, s2]);
  });

  it("sets a user's status on all their sockets, on every shard", async () => {
    const room = await uniqueRoom("away");
    const [alice, , , phone, , laptop] = await connectAll(room, ["alice", "bob", "carol", "dana", "s1", "dana"]);
    phone!.send({ type: "presence", status: "away" });
    expect(await alice!.next("presence", (p) => p.userId === "dana" && p.status === "away")).toBeTruthy();
    expect((await presenceList(room, "alice")).find((u) => u.id === "dana")).toMatchObject({ status: "away" });
    laptop!.send({ type: "presence", status: "online" });
    expect(await alice!.next("presence", (p) => p.userId === "dana" && p.status === "online")).toBeTruthy();
  });

  it("closes a removed member's socket on a shard at once and refuses them after", async () => {
    const room = await uniqueRoom("removed");
    const [alice, , carol, dana] = await connectAll(room, ["alice", "bob", "carol", "dana"]);
    expect(await layout(room)).toEqual({ here: 2, shards: { 0: 2 } });
    expect((await call("DELETE", `/api/rooms/${room}/members/dana`, "alice")).status).toBe(204);
    expect((await dana!.waitClosed()).code).toBe(1008);
    expect(await alice!.next("presence", (p) => p.userId === "dana" && p.status === "offline")).toBeTruthy();
    expect(await carol!.next("presence", (p) => p.userId === "dana" && p.status === "offline")).toBeTruthy();
    await expect.poll(() => held(room, 0)).toBe(1);
    expect(await layout(room)).toEqual({ here: 2, shards: { 0: 1 } });
    const res = await api(`/parties/room/${room}?token=${await tokenFor("dana")}`, { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(403);
  });

  it("refuses the next frame of a shard's socket whose user is no longer a member, and closes it", async () => {
    const room = await uniqueRoom("lapsed");
    const [alice, , , dana] = await connectAll(room, ["alice", "bob", "carol", "dana"]);
    // Membership changed under the socket, without the room closing it.
    await runInDurableObject(roomStubOf(room), (r: Room) => partsOf(r).membership.remove("dana"));
    dana!.send({ type: "send", clientId: newClientId(), text: "still here?" });
    expect(await dana!.next("error")).toMatchObject({ code: "forbidden" });
    expect((await dana!.waitClosed()).code).toBe(1008);
    expect(await alice!.next("presence", (p) => p.userId === "dana" && p.status === "offline")).toBeTruthy();
    expect(dana!.all("message")).toEqual([]);
    expect(await layout(room)).toEqual({ here: 2, shards: { 0: 1 } });
  });

  it("closes a user's oldest socket, wherever it is, when they open one more than the cap", async () => {
    const room = await uniqueRoom("cap");
    const cap = readConfig(env).maxSocketsPerRoom;
    await connectAll(room, ["alice", "bob"]);
    const danas = await connectAll(room, Array.from({ length: cap }, () => "dana"));
    expect(await layout(room)).toMatchObject({ here: 2, shards: { 0: 2 } });
    const { socket: newest } = await connect(room, "dana");
    expect((await danas[0]!.waitClosed()).code).toBe(4008);
    expect(danas.slice(1).every((s) => s.closed === null)).toBe(true);
    expect((await presenceList(room, "alice")).filter((u) => u.id === "dana")).toHaveLength(1);
    newest.close();
  });

  it("refuses a socket a shard is handed for someone who is not a member", async () => {
    const room = await uniqueRoom("forged", ["alice", "bob"]);
    const request = upgradeRequest(
      new Request(`http://localhost/parties/room/${room}`, { headers: { upgrade: "websocket" } }),
      room,
      { id: "mallory", name: "Mallory", kind: "member" },
      undefined,
      0,
    );
    const res = await shardStubOf(room, 0).fetch(request);
    expect(res.status).toBe(403);
    expect(await held(room, 0)).toBe(0);
  });
});

/**
 * A room of four, the last two (s1 and carol) on shard 0, with alice sending `total` messages one
 * after another and carol having seen a few of them.
 */
async function midStream(label: string) {
  const room = await uniqueRoom(label);
  const [alice, , , carol] = await connectAll(room, ["alice", "bob", "s1", "carol"]);
  const total = 30;
  const sending = (async () => {
    for (let i = 1; i <= total; i++) await sendAndAck(alice!, `m${i}`);
  })();
  await carol!.until(() => carol!.all("message").length >= 5, "a few messages");
  return { room, alice: alice!, carol: carol!, total, sending };
}

describe("evictions", () => {
  it("recovers a shard evicted mid-stream with its sockets closed: the client reconnects and syncs what it missed", async () => {
    const { room, carol, total, sending } = await midStream("evicted");
    await evictDurableObject(shardStubOf(room, 0), { webSockets: "close" });
    await carol.waitClosed();
    const lastSeen = Math.max(...seqs(carol));
    const { socket: again } = await connect(room, "carol");
    await sending;
    const got = new Map<number, string>();
    for (const m of carol.all("message")) got.set(m.message.seq, m.message.text);
    let after = lastSeen;
    for (;;) {
      again.send({ type: "sync", after });
      const page = await again.next("sync");
      for (const m of page.messages) got.set(m.seq, m.text);
      if (!page.more) break;
      after = page.messages.at(-1)!.seq;
    }
    // Whatever arrived live on the new socket besides.
    for (const m of again.all("message")) got.set(m.message.seq, m.message.text);
    expect([...got.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect([...got.entries()].every(([seq, text]) => text === `m${seq}`)).toBe(true);
    // When carol came back, the room still counted her lost socket on the shard: it compared the
    // shard's roster before placing her, forgot both sockets the shard had lost, and put her new
    // one there again.
    expect(await layout(room)).toEqual({ here: 2, shards: { 0: 1 } });
    expect((await presenceList(room, "alice")).map((u) => u.id).sort()).toEqual(["alice", "bob", "carol"]);
  });

  it("keeps a shard's sockets through its hibernation: the stream goes on without a gap", async () => {
    const { room, alice, carol, total, sending } = await midStream("hibernated");
    await evictDurableObject(shardStubOf(room, 0));
    await sending;
    await carol.until(() => carol.all("message").length >= total, "every message");
    expect(seqs(carol)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(carol.closed).toBeNull();
    // Its sockets still count, and still send.
    expect(await layout(room)).toEqual({ here: 2, shards: { 0: 2 } });
    await sendAndAck(carol, "after the shard woke");
    expect((await alice.next("message", (m) => m.message.text === "after the shard woke")).message.seq).toBe(total + 1);
  });

  it("keeps counting a shard's sockets when the room itself is evicted, and reaches them after", async () => {
    const room = await uniqueRoom("room-evicted");
    const [alice, , carol, dana] = await connectAll(room, ["alice", "bob", "carol", "dana"]);
    dana!.send({ type: "presence", status: "away" });
    await alice!.next("presence", (p) => p.userId === "dana" && p.status === "away");
    await evictDurableObject(roomStubOf(room));
    const online = await presenceList(room, "alice");
    expect(online.map((u) => [u.id, u.status]).sort()).toEqual([
      ["alice", "online"],
      ["bob", "online"],
      ["carol", "online"],
      ["dana", "away"],
    ]);
    expect(await layout(room)).toEqual({ here: 2, shards: { 0: 2 } });
    await sendAndAck(alice!, "after the room woke");
    expect((await dana!.next("message")).message.text).toBe("after the room woke");
    await sendAndAck(carol!, "from the shard");
    expect((await alice!.next("message", (m) => m.message.text === "from the shard")).message.seq).toBe(2);
    dana!.close();
    expect(await alice!.next("presence", (p) => p.userId === "dana" && p.status === "offline")).toBeTruthy();
  });
});

describe("the stream to a shard", () => {
  it("applies a delivery the room retries only once, and closes its sockets when deliveries were lost", async () => {
    const room = await uniqueRoom("stream");
    const [alice, , carol] = await connectAll(room, ["alice", "bob", "carol"]);
    await sendAndAck(alice!, "first");
    await carol!.next("message");
    const shard = shardStubOf(room, 0);
    const { epoch, applied } = await runInDurableObject(shard, (s: RoomShard) => {
      const state = s as unknown as { epoch: number; applied: number };
      return { epoch: state.epoch, applied: state.applied };
    });
    const typing = (userId: string) => JSON.stringify({ type: "typing", userId, name: userId, on: true });
    // The last call again (a retry of one the shard had applied): nothing is sent twice.
    await shard.deliver({ epoch, call: applied, items: [{ f: typing("bob"), n: 1 }] });
    await shard.deliver({ epoch, call: applied + 1, items: [{ f: typing("dana"), n: 1 }] });
    expect(await carol!.next("typing")).toMatchObject({ userId: "dana" });
    expect(carol!.all("typing").filter((t) => t.userId === "bob")).toEqual([]);
    // A number skipped: the room gave up frames for this shard. Its sockets missed them, so they
    // are closed, and their clients reconnect and sync.
    await shard.deliver({ epoch, call: applied + 3, items: [] });
    expect((await carol!.waitClosed()).code).toBe(1012);
    await expect.poll(() => layout(room)).toEqual({ here: 2, shards: {} });
  });
});
