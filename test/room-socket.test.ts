import { SELF, env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_FRAME_BYTES, PING, PONG, WELCOME_ONLINE_LIMIT } from "../src/protocol";
import { DUPLICATE_WINDOW_MS } from "../src/room/guards";
import type { Room } from "../src/room/Room";
import { connect, newClientId, openSocket, sendAndAck, tokenFor, uniqueRoom } from "./helpers";

const stubOf = (room: string) => env.ROOM.get(env.ROOM.idFromName(room));

describe("the room socket", () => {
  it("welcomes a new socket with the room, the user, lastSeq, who is online and recent messages", async () => {
    const room = await uniqueRoom();
    const { socket: alice, welcome } = await connect(room, "alice", "Alice");
    expect(welcome).toMatchObject({
      type: "welcome",
      room: { id: room },
      you: { id: "alice", name: "Alice", kind: "member" },
      lastSeq: 0,
      online: [{ id: "alice", name: "Alice", status: "online" }],
      onlineCount: 1,
      recent: [],
    });
    await sendAndAck(alice, "first");
    const { welcome: second } = await connect(room, "bob");
    expect(second.lastSeq).toBe(1);
    expect(second.recent.map((m) => m.text)).toEqual(["first"]);
    expect(second.online.map((u) => u.id).sort()).toEqual(["alice", "bob"]);
  });

  it("lists at most 100 online users in the welcome and counts them all in onlineCount", async () => {
    const users = Array.from({ length: 102 }, (_, i) => `crowd${i}`);
    const room = await uniqueRoom("crowd", users);
    const sockets = (await Promise.all(users.slice(0, 101).map((u) => connect(room, u)))).map((c) => c.socket);
    const { socket, welcome } = await connect(room, users[101]!);
    expect(welcome.online).toHaveLength(WELCOME_ONLINE_LIMIT);
    expect(welcome.onlineCount).toBe(102);
    for (const s of [...sockets, socket]) s.close();
  });

  it("sends only the last 50 messages in welcome", async () => {
    const room = await uniqueRoom();
    const { socket } = await connect(room, "alice");
    for (let i = 1; i <= 60; i++) socket.send({ type: "send", clientId: `c${i}`, text: `m${i}` });
    await socket.next("ack", (a) => a.clientId === "c60");
    const { welcome } = await connect(room, "bob");
    expect(welcome.lastSeq).toBe(60);
    expect(welcome.recent.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 11));
  });

  it("delivers a message to every socket and acks the sender with the stored seq and id", async () => {
    const room = await uniqueRoom();
    const { socket: alice } = await connect(room, "alice");
    const { socket: bob } = await connect(room, "bob");
    const clientId = newClientId();
    alice.send({ type: "send", clientId, text: "  hello bob  " });
    const ack = await alice.next("ack");
    const mine = await alice.next("message");
    const theirs = await bob.next("message");
    expect(ack).toMatchObject({ clientId, seq: 1, id: mine.message.id, createdAt: mine.message.createdAt });
    expect(theirs.message).toEqual(mine.message);
    expect(theirs.message).toMatchObject({
      roomId: room,
      seq: 1,
      clientId,
      author: { id: "alice", name: "alice" },
      text: "hello bob",
      editedAt: null,
      deletedAt: null,
      replyTo: null,
    });
  });

  it("gives two sockets the same messages in the same order under concurrent senders, with contiguous seq", async () => {
    const room = await uniqueRoom();
    const senders = await Promise.all(["s1", "s2", "s3", "s4"].map((id) => connect(room, id)));
    const { socket: watcher1 } = await connect(room, "w1");
    const { socket: watcher2 } = await connect(room, "w2");
    const perSender = 25;
    const sends = senders.flatMap(({ socket }, s) =>
      Array.from({ length: perSender }, (_, i) => {
        const clientId = `s${s}-${i}`;
        socket.send({ type: "send", clientId, text: `from ${s} #${i}` });
        return socket.next("ack", (a) => a.clientId === clientId);
      }),
    );
    const acks = await Promise.all(sends);
    const total = senders.length * perSender;
    expect(acks.map((a) => a.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await watcher1.until(() => watcher1.all("message").length === total, "all messages");
    await watcher2.until(() => watcher2.all("message").length === total, "all messages");
    const order1 = watcher1.all("message").map((m) => m.message.seq);
    const order2 = watcher2.all("message").map((m) => m.message.seq);
    expect(order1).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(order2).toEqual(order1);
  });

  it("answers a repeated clientId from the same user with the first ack and stores nothing", async () => {
    const room = await uniqueRoom();
    const { socket: alice } = await connect(room, "alice");
    const { socket: bob } = await connect(room, "bob");
    const first = await sendAndAck(alice, "once", "dup-1");
    const again = await sendAndAck(alice, "once (resent)", "dup-1");
    expect(again).toEqual(first);
    await sendAndAck(alice, "next");
    await bob.until(() => bob.all("message").length === 2, "two messages");
    expect(bob.all("message").map((m) => m.message.text)).toEqual(["once", "next"]);
  });

  it("refuses the same text from the same user within 10 seconds as a duplicate, and allows it after", async () => {
    const room = await uniqueRoom();
    const { socket: alice } = await connect(room, "alice");
    const { socket: bob } = await connect(room, "bob");
    await sendAndAck(alice, "same words");
    alice.send({ type: "send", clientId: "again", text: "same words" });
    expect(await alice.next("error")).toMatchObject({ code: "duplicate", clientId: "again" });
    await sendAndAck(bob, "same words");
    // Move alice's last send to just inside, then just outside, the window.
    const age = (ms: number) =>
      runInDurableObject(stubOf(room), (_instance: Room, state) => {
        state.storage.sql.exec("UPDATE recent_sends SET at = ? WHERE user_id = 'alice'", Date.now() - ms);
      });
    await age(DUPLICATE_WINDOW_MS - 1000);
    alice.send({ type: "send", clientId: "inside", text: "same words" });
    expect(await alice.next("error")).toMatchObject({ code: "duplicate", clientId: "inside" });
    await age(DUPLICATE_WINDOW_MS + 1);
    expect((await sendAndAck(alice, "same words", "outside")).seq).toBe(3);
  });

  it("treats the same clientId from another user as a different message", async () => {
    const room = await uniqueRoom();
    const { socket: alice } = await connect(room, "alice");
    const { socket: bob } = await connect(room, "bob");
    const a = await sendAndAck(alice, "from alice", "shared-id");
    const b = await sendAndAck(bob, "from bob", "shared-id");
    expect([a.seq, b.seq]).toEqual([1, 2]);
    expect(a.id).not.toBe(b.id);
  });

  it("replies to a message with its id, author and an excerpt", async () => {
    const room = await uniqueRoom();
    const { socket: alice } = await connect(room, "alice", "Alice");
    const original = await sendAndAck(alice, "the original");
    alice.send({ type: "send", clientId: "reply", text: "a reply", replyTo: original.id });
    const reply = await alice.next("message", (m) => m.message.clientId === "reply");
    expect(reply.message.replyTo).toEqual({ id: original.id, author: { id: "alice", name: "Alice" }, excerpt: "the original" });
    alice.send({ type: "send", clientId: "bad-reply", text: "to nothing", replyTo: "no-such-id" });
    const error = await alice.next("error");
    expect(error).toMatchObject({ code: "bad_request", clientId: "bad-reply" });
  });

  it("answers the heartbeat ping with pong", async () => {
    const { socket } = await connect(await uniqueRoom(), "alice");
    socket.send(PING);
    await socket.until(() => socket.raw.includes(PONG), "pong");
  });
});

describe("catching up", () => {
  it("returns exactly the messages missed while disconnected", async () => {
    const room = await uniqueRoom();
    const { socket: alice } = await connect(room, "alice");
    const { socket: bob } = await connect(room, "bob");
    await sendAndAck(alice, "before 1");
    await sendAndAck(alice, "before 2");
    await bob.until(() => bob.all("message").length === 2, "two messages");
    const lastSeen = Math.max(...bob.all("message").map((m) => m.message.seq));
    bob.close();
    for (let i = 1; i <= 5; i++) await sendAndAck(alice, `missed ${i}`);
    const { socket: bobAgain } = await connect(room, "bob");
    bobAgain.send({ type: "sync", after: lastSeen });
    const sync = await bobAgain.next("sync");
    expect(sync.more).toBe(false);
    expect(sync.messages.map((m) => [m.seq, m.text])).toEqual([
      [3, "missed 1"],
      [4, "missed 2"],
      [5, "missed 3"],
      [6, "missed 4"],
      [7, "missed 5"],
    ]);
  });

  it("pages sync in at most 200 messages with more until the end", async () => {
    const room = await uniqueRoom();
    const { socket } = await connect(room, "alice");
    for (let i = 1; i <= 450; i++) socket.send({ type: "send", clientId: `c${i}`, text: `m${i}` });
    await socket.next("ack", (a) => a.clientId === "c450");
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      socket.send({ type: "sync", after });
      const page = await socket.next("sync");
      expect(page.messages.length).toBeLessThanOrEqual(200);
      seen.push(...page.messages.map((m) => m.seq));
      if (!page.more) break;
      after = page.messages.at(-1)!.seq;
    }
    expect(seen).toEqual(Array.from({ length: 450 }, (_, i) => i + 1));
    socket.send({ type: "sync", after: 450 });
    expect(await socket.next("sync")).toEqual({ type: "sync", messages: [], more: false });
  });
});

describe("presence and typing", () => {
  it("announces online on a user's first socket and offline when their last closes, counting devices once", async () => {
    const room = await uniqueRoom();
    const { socket: watcher } = await connect(room, "watcher");
    const { socket: phone } = await connect(room, "alice", "Alice");
    const isAlice = (p: { userId: string }) => p.userId === "alice";
    expect(await watcher.next("presence", isAlice)).toMatchObject({ userId: "alice", name: "Alice", status: "online", onlineCount: 2 });
    const { socket: laptop, welcome } = await connect(room, "alice", "Alice");
    expect(welcome.online.filter((u) => u.id === "alice")).toHaveLength(1);
    expect(welcome.onlineCount).toBe(2);
    phone.close();
    await sendAndAck(watcher, "still here?");
    expect(watcher.all("presence").filter(isAlice)).toHaveLength(1);
    laptop.close();
    expect(await watcher.next("presence", isAlice)).toMatchObject({ userId: "alice", status: "offline", onlineCount: 1 });
  });

  it("shares an away status with the room and keeps the user listed as away", async () => {
    const room = await uniqueRoom();
    const { socket: watcher } = await connect(room, "watcher");
    const { socket: alice } = await connect(room, "alice");
    await watcher.next("presence", (p) => p.userId === "alice" && p.status === "online");
    alice.send({ type: "presence", status: "away" });
    expect(await watcher.next("presence", (p) => p.userId === "alice")).toMatchObject({ userId: "alice", status: "away", onlineCount: 2 });
    const { welcome } = await connect(room, "carol");
    expect(welcome.online.find((u) => u.id === "alice")?.status).toBe("away");
    const res = await stubOf(room).getPresence(room, { id: "carol", name: "carol", kind: "member" });
    expect(res.ok && res.value.find((u) => u.id === "alice")?.status).toBe("away");
  });

  it("sends typing to the others only, and stops it 3 seconds after the last 'on'", async () => {
    const room = await uniqueRoom();
    const { socket: alice } = await connect(room, "alice", "Alice");
    const { socket: bob } = await connect(room, "bob");
    alice.send({ type: "typing", on: true });
    expect(await bob.next("typing")).toEqual({ type: "typing", userId: "alice", name: "Alice", on: true });
    const started = Date.now();
    const off = await bob.until(() => bob.all("typing").find((t) => !t.on), "typing off", 6000);
    expect(off).toMatchObject({ userId: "alice", on: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    expect(alice.all("typing")).toEqual([]);
  });

  it("stops typing when the typist says so, sends a message, or disconnects", async () => {
    const room = await uniqueRoom();
    const { socket: alice } = await connect(room, "alice");
    const { socket: bob } = await connect(room, "bob");
    alice.send({ type: "typing", on: true });
    await bob.next("typing", (t) => t.on);
    alice.send({ type: "typing", on: false });
    await bob.next("typing", (t) => !t.on);
    alice.send({ type: "typing", on: true });
    await bob.next("typing", (t) => t.on);
    await sendAndAck(alice, "done typing");
    await bob.next("typing", (t) => !t.on);
    alice.send({ type: "typing", on: true });
    await bob.next("typing", (t) => t.on);
    alice.close();
    await bob.next("typing", (t) => !t.on);
  });
});

describe("hibernation", () => {
  it("keeps every socket's identity and the room's presence when the object hibernates", async () => {
    const room = await uniqueRoom();
    const { socket: alice } = await connect(room, "alice", "Alice");
    const { socket: bob } = await connect(room, "bob", "Bob");
    bob.send({ type: "presence", status: "away" });
    await alice.next("presence", (p) => p.userId === "bob" && p.status === "away");

    await evictDurableObject(stubOf(room));

    const presence = await stubOf(room).getPresence(room, { id: "alice", name: "Alice", kind: "member" });
    expect(presence.ok && presence.value.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: "alice", name: "Alice", status: "online" },
      { id: "bob", name: "Bob", status: "away" },
    ]);
    await sendAndAck(alice, "after waking");
    const received = await bob.next("message");
    expect(received.message).toMatchObject({ seq: 1, author: { id: "alice", name: "Alice" } });
    bob.close();
    await alice.next("presence", (p) => p.userId === "bob" && p.status === "offline");
  });
});

describe("bad frames", () => {
  const cases: [string, unknown, string | undefined][] = [
    ["text that is not JSON", "{not json", undefined],
    ["an unknown frame type", { type: "shout", text: "hi" }, undefined],
    ["a frame without a type", { clientId: "x", text: "hi" }, "x"],
    ["a send with a number for text", { type: "send", clientId: "c-num", text: 42 }, "c-num"],
    ["a send without a clientId", { type: "send", text: "hi" }, undefined],
    ["a send with empty text", { type: "send", clientId: "c-empty", text: "" }, "c-empty"],
    ["a send with only whitespace", { type: "send", clientId: "c-space", text: " \n\t " }, "c-space"],
    ["a send with control characters", { type: "send", clientId: "c-ctl", text: "a\u0000b" }, "c-ctl"],
    ["a send with a lone surrogate", { type: "send", clientId: "c-sur", text: "a\ud800b" }, "c-sur"],
    ["a send with an unknown field", { type: "send", clientId: "c-extra", text: "hi", admin: true }, "c-extra"],
    ["a sync with a negative after", { type: "sync", after: -1 }, undefined],
    ["a sync with a fractional after", { type: "sync", after: 1.5 }, undefined],
    ["a sync with a string after", { type: "sync", after: "3" }, undefined],
    ["a typing frame without on", { type: "typing" }, undefined],
    ["a presence frame with an unknown status", { type: "presence", status: "busy" }, undefined],
    ["a JSON array", [1, 2, 3], undefined],
    ["JSON null", null, undefined],
  ];

  for (const [name, frame, clientId] of cases) {
    it(`refuses ${name} with an error frame, keeps the socket open and stores nothing`, async () => {
      const room = await uniqueRoom();
      const { socket } = await connect(room, "alice");
      socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
      const error = await socket.next("error");
      expect(error.code).toBe("bad_request");
      expect(typeof error.message).toBe("string");
      expect(error.clientId).toBe(clientId);
      const ack = await sendAndAck(socket, "still works");
      expect(ack.seq).toBe(1);
      expect(socket.closed).toBeNull();
    });
  }

  it("refuses binary frames with an error frame", async () => {
    const { socket } = await connect(await uniqueRoom(), "alice");
    socket.ws.send(new Uint8Array([1, 2, 3]));
    expect((await socket.next("error")).code).toBe("bad_request");
  });

  it("accepts text of exactly 4000 characters and refuses 4001", async () => {
    const room = await uniqueRoom();
    const { socket } = await connect(room, "alice");
    const ok = await sendAndAck(socket, "x".repeat(4000));
    expect(ok.seq).toBe(1);
    socket.send({ type: "send", clientId: "too-long", text: "x".repeat(4001) });
    expect(await socket.next("error")).toMatchObject({ code: "bad_request", clientId: "too-long" });
    // Characters, not UTF-16 units: 4000 emoji are 8000 units and still fit.
    const emoji = await sendAndAck(socket, "😀".repeat(4000));
    expect(emoji.seq).toBe(2);
  });

  it("keeps the socket open for a frame of exactly 64 KiB and closes it with 1009 just over", async () => {
    const room = await uniqueRoom();
    const { socket } = await connect(room, "alice");
    const frameOf = (bytes: number) => {
      const base = JSON.stringify({ type: "send", clientId: "big", text: "" });
      return base.replace('"text":""', `"text":"${"y".repeat(bytes - base.length)}"`);
    };
    const exact = frameOf(MAX_FRAME_BYTES);
    expect(new TextEncoder().encode(exact).byteLength).toBe(MAX_FRAME_BYTES);
    socket.send(exact);
    expect((await socket.next("error")).message).toMatch(/longer than 4000/);
    socket.send(frameOf(MAX_FRAME_BYTES + 1));
    expect((await socket.waitClosed()).code).toBe(1009);
  });
});

describe("upgrade checks in the Worker", () => {
  it("refuses a foreign Origin with 403 and allows a listed or absent one", async () => {
    const room = await uniqueRoom();
    const token = await tokenFor("alice");
    const foreign = await openSocket(room, token, { origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ error: { code: "forbidden" } });
    const local = await openSocket(room, token, { origin: "http://localhost:8787" });
    expect(local.status).toBe(101);
    local.webSocket!.accept();
    local.webSocket!.close();
  });

  it("refuses an invalid room id with 400 before touching any object", async () => {
    const token = await tokenFor("alice");
    for (const bad of ["a".repeat(65), "has%20space", "dots.not.allowed"]) {
      const res = await openSocket(bad, token);
      expect(res.status, bad).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "bad_request" } });
    }
    // A well-formed id passes the check and reaches the room, which does not exist.
    const longest = await openSocket("a".repeat(64), token);
    expect(longest.status).toBe(404);
  });

  it("refuses a request that is not a websocket upgrade", async () => {
    const plain = await SELF.fetch(`http://localhost/parties/room/${await uniqueRoom()}?token=${await tokenFor("a")}`);
    expect(plain.status).toBe(400);
    expect(await plain.json()).toMatchObject({ error: { code: "bad_request" } });
  });
});
