import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Chat } from "../src/room/chat";
import type { RoomParts } from "../src/room/parts";
import { Room } from "../src/room/Room";
import { MessageStore } from "../src/room/store";
import { MessageWriter } from "../src/room/writer";
import { api, connect, sendAndAck, tokenFor, uniqueRoom } from "./helpers";

const stubOf = (room: string) => env.ROOM.get(env.ROOM.idFromName(room));

async function d1Rows(room: string) {
  const { results } = await env.DB.prepare("SELECT id, seq, text FROM messages WHERE room_id = ? ORDER BY seq")
    .bind(room)
    .all<{ id: string; seq: number; text: string }>();
  return results;
}

async function post(room: string, text: string, clientId: string, user = "alice") {
  const res = await api(`/api/rooms/${room}/messages`, {
    method: "POST",
    token: await tokenFor(user),
    json: { clientId, text },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { message: { id: string; seq: number } }).message;
}

/** What the platform passes to alarm(): how many times this alarm has been retried. */
const alarmInfo = (retryCount: number): AlarmInvocationInfo => ({ retryCount, isRetry: retryCount > 0, scheduledTime: Date.now() });

const dirtyRows = (room: string) =>
  runInDurableObject(stubOf(room), (_: Room, state) =>
    state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages WHERE rev > flushed_rev").one().n,
  );

/**
 * Runs the room's alarm until nothing is left to flush. An alarm the room re-arms for "now"
 * may also fire on its own, so this waits on the room's state, not on who ran the alarm.
 */
async function flushAll(room: string) {
  for (let i = 0; i < 200 && (await dirtyRows(room)) > 0; i++) {
    if (!(await runDurableObjectAlarm(stubOf(room)))) await new Promise((r) => setTimeout(r, 20));
  }
  expect(await dirtyRows(room)).toBe(0);
}

describe("durable acks", () => {
  it("acks a message only once its row is in the room's storage", async () => {
    const room = await uniqueRoom();
    const { socket } = await connect(room, "alice");
    const ack = await sendAndAck(socket, "keep me");
    const stored = await runInDurableObject(stubOf(room), (_: Room, state) =>
      state.storage.sql.exec<{ id: string; text: string }>("SELECT id, text FROM messages WHERE seq = ?", ack.seq).toArray(),
    );
    expect(stored).toEqual([{ id: ack.id, text: "keep me" }]);
  });

  it("keeps seq and history across an eviction", async () => {
    const room = await uniqueRoom();
    await post(room, "one", "c1");
    await post(room, "two", "c2");
    await evictDurableObject(stubOf(room));
    const third = await post(room, "three", "c3");
    expect(third.seq).toBe(3);
    const res = await api(`/api/rooms/${room}/messages`, { token: await tokenFor("alice") });
    const body = (await res.json()) as { messages: { seq: number; text: string }[] };
    expect(body.messages.map((m) => [m.seq, m.text])).toEqual([
      [1, "one"],
      [2, "two"],
      [3, "three"],
    ]);
  });
});

describe("flushing to D1", () => {
  it("schedules a flush after a write and writes every message to D1 exactly once, even after an eviction", async () => {
    const room = await uniqueRoom();
    const sent = [];
    for (let i = 1; i <= 30; i++) sent.push(await post(room, `m${i}`, `c${i}`));
    expect(await d1Rows(room)).toEqual([]);
    expect(await runInDurableObject(stubOf(room), (_: Room, state) => state.storage.getAlarm())).not.toBeNull();

    await evictDurableObject(stubOf(room));
    expect(await runDurableObjectAlarm(stubOf(room))).toBe(true);

    const rows = await d1Rows(room);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(rows.map((r) => r.id)).toEqual(sent.map((m) => m.id));
  });

  it("writes nothing twice when the alarm runs again", async () => {
    const room = await uniqueRoom();
    for (let i = 1; i <= 12; i++) await post(room, `m${i}`, `c${i}`);
    await flushAll(room);
    // Force the same rows to be written again, as a flush interrupted before marking would.
    await runInDurableObject(stubOf(room), async (_: Room, state) => {
      state.storage.sql.exec("UPDATE messages SET flushed_rev = 0");
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(stubOf(room))).toBe(true);
    expect(await runDurableObjectAlarm(stubOf(room))).toBe(false);
    const rows = await d1Rows(room);
    expect(rows).toHaveLength(12);
    expect(new Set(rows.map((r) => r.id)).size).toBe(12);
  });

  it("marks nothing flushed when D1 fails, and completes the flush once D1 is back", async () => {
    const room = await uniqueRoom();
    for (let i = 1; i <= 5; i++) await post(room, `m${i}`, `c${i}`);
    await env.DB.exec("ALTER TABLE messages RENAME TO messages_unavailable");
    try {
      await expect(
        runInDurableObject(stubOf(room), (instance: Room) => instance.alarm(alarmInfo(0))),
      ).rejects.toThrow();
      expect(await dirtyRows(room)).toBe(5);
    } finally {
      await env.DB.exec("ALTER TABLE messages_unavailable RENAME TO messages");
    }
    await runInDurableObject(stubOf(room), (instance: Room) => instance.alarm(alarmInfo(1)));
    expect((await d1Rows(room)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it("sets its own retry alarm once the platform's retries are spent", async () => {
    const room = await uniqueRoom();
    await post(room, "m1", "c1");
    await env.DB.exec("ALTER TABLE messages RENAME TO messages_unavailable");
    try {
      const alarm = await runInDurableObject(stubOf(room), async (instance: Room, state) => {
        await state.storage.deleteAlarm();
        await instance.alarm(alarmInfo(5)); // does not throw
        return state.storage.getAlarm();
      });
      expect(alarm).toBeGreaterThan(Date.now() + 10_000);
    } finally {
      await env.DB.exec("ALTER TABLE messages_unavailable RENAME TO messages");
    }
    await flushAll(room);
    expect(await d1Rows(room)).toHaveLength(1);
  });

  it("flushes in batches within D1's parameter limit and re-arms at once while more is pending", async () => {
    const room = await uniqueRoom();
    await seed(room, 1200);
    // FLUSH_BATCH_ROWS is 500 and the test interval is an hour: only the immediate re-arm
    // after each batch can bring all 1200 rows to D1 without another forced alarm.
    expect(await runDurableObjectAlarm(stubOf(room))).toBe(true);
    const deadline = Date.now() + 10_000;
    let rows = await d1Rows(room);
    while (rows.length < 1200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      rows = await d1Rows(room);
    }
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
  });

  it("keeps only the newest 1000 messages locally after flushing and still serves complete history", async () => {
    const room = await uniqueRoom();
    await seed(room, 1100);
    await flushAll(room);
    const local = await runInDurableObject(stubOf(room), (_: Room, state) =>
      state.storage.sql.exec<{ lo: number; n: number }>("SELECT min(seq) AS lo, count(*) AS n FROM messages").one(),
    );
    expect(local).toEqual({ lo: 101, n: 1000 });
    const token = await tokenFor("alice");
    const page = await api(`/api/rooms/${room}/messages?before=120&limit=40`, { token });
    const body = (await page.json()) as { messages: { seq: number }[]; nextBefore: number };
    expect(body.messages.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 80));
    expect(body.nextBefore).toBe(80);
    const { socket } = await connect(room, "bob");
    socket.send({ type: "sync", after: 50 });
    const sync = await socket.next("sync");
    expect(sync.messages.map((m) => m.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 51));
    expect(sync.more).toBe(true);
  });

  it("does not prune messages that are not in D1 yet", async () => {
    const room = await uniqueRoom();
    await seed(room, 1050);
    await runInDurableObject(stubOf(room), (instance: Room) => instance.alarm(alarmInfo(0)));
    const local = await runInDurableObject(stubOf(room), (_: Room, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages").one().n,
    );
    // 500 flushed, 550 still dirty: only flushed rows older than the newest 1000 could go (50 of them).
    expect(local).toBe(1000);
    await flushAll(room);
    expect(await d1Rows(room)).toHaveLength(1050);
  });
});

describe("group writes", () => {
  it("writes sends that arrive within 2 ms of a write together, in one transaction, in order", async () => {
    const room = await uniqueRoom();
    const result = await runInDurableObject(stubOf(room), async (_: Room, state) => {
      const store = new MessageStore(state.storage);
      const writes: number[] = [];
      const insertAll = store.insertAll.bind(store);
      store.insertAll = (roomId, inputs, now) => (writes.push(inputs.length), insertAll(roomId, inputs, now));
      const writer = new MessageWriter(store);
      const input = (n: number) => ({ clientId: `g-${n}`, author: { id: "alice", name: "Alice" }, text: `g${n}`, replyTo: null });
      const first = writer.append(room, input(1));
      // Written within the send's own event: a quiet room does not wait.
      const afterFirst = [...writes];
      const rest = [2, 3, 4].map((n) => writer.append(room, input(n)));
      const messages = await Promise.all([first, ...rest]);
      return { afterFirst, writes, seqs: messages.map((m) => m.seq), texts: messages.map((m) => m.text) };
    });
    expect(result.afterFirst).toEqual([1]);
    expect(result.writes).toEqual([1, 3]);
    expect(result.seqs).toEqual([1, 2, 3, 4]);
    expect(result.texts).toEqual(["g1", "g2", "g3", "g4"]);
  });

  it("answers a resend that arrives before the first send is written with the same message, stored once", async () => {
    const room = await uniqueRoom();
    const alice = { id: "alice", name: "Alice", kind: "member" as const };
    const results = await runInDurableObject(stubOf(room), async (instance: Room) => {
      const chat = (instance as unknown as { chat: Chat }).chat;
      await chat.post(room, alice, "member", { clientId: "warm", text: "warm up" });
      // Within 2 ms of that write: the send waits for its group, and the resend finds it there.
      const sends = [chat.post(room, alice, "member", { clientId: "twice", text: "once only" }), chat.post(room, alice, "member", { clientId: "twice", text: "once only" })];
      return Promise.all(sends);
    });
    const [first, again] = results.map((r) => (r.ok ? r.value : null));
    expect(first?.created).toBe(true);
    expect(again).toEqual({ message: first!.message, created: false });
    const stored = await runInDurableObject(stubOf(room), (_: Room, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages WHERE client_id = 'twice'").one().n,
    );
    expect(stored).toBe(1);
  });

  it("acks nothing when the write fails, and takes the next send normally", async () => {
    const room = await uniqueRoom();
    await post(room, "before", "c0");
    const outcome = await runInDurableObject(stubOf(room), async (instance: Room) => {
      const { store, writer } = (instance as unknown as { p: RoomParts }).p;
      const insertAll = store.insertAll;
      store.insertAll = () => {
        throw new Error("disk full");
      };
      const failed = await writer.append(room, { clientId: "lost", author: { id: "alice", name: "Alice" }, text: "x", replyTo: null }).then(
        () => "written",
        (err: Error) => err.message,
      );
      store.insertAll = insertAll;
      return { failed, lastSeq: store.lastSeq };
    });
    expect(outcome).toEqual({ failed: "disk full", lastSeq: 1 });
    expect((await post(room, "after", "c1")).seq).toBe(2);
  });
});

describe("what outlives the local rows", () => {
  it("answers a resent clientId with the first message after that message left the room's storage", async () => {
    const room = await uniqueRoom();
    const first = await post(room, "first words", "c-first");
    await seed(room, 1000);
    await flushAll(room);
    const held = await runInDurableObject(stubOf(room), (_: Room, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages WHERE seq = 1").one().n,
    );
    expect(held).toBe(0);
    const res = await api(`/api/rooms/${room}/messages`, {
      method: "POST",
      token: await tokenFor("alice"),
      json: { clientId: "c-first", text: "first words" },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { message: { id: string; seq: number } }).message).toMatchObject({ id: first.id, seq: 1 });
    expect(await d1Rows(room)).toHaveLength(1001);
  });

  it("keeps counting seq after a restart when no message is held locally any more", async () => {
    const room = await uniqueRoom();
    await post(room, "one", "c1");
    await post(room, "two", "c2");
    await flushAll(room);
    await runInDurableObject(stubOf(room), (instance: Room) => (instance as unknown as { p: RoomParts }).p.store.prune(0));
    await evictDurableObject(stubOf(room));
    expect((await post(room, "three", "c3")).seq).toBe(3);
    expect((await d1Rows(room)).map((r) => r.seq)).toEqual([1, 2]);
  });

  it("flushes rows too large for one statement, and D1 gives back exactly what the room held", async () => {
    const room = await uniqueRoom();
    const token = await tokenFor("alice");
    const long = (i: number) => `${i} ${"ü€😀 ".repeat(799)}`.slice(0, 4000);
    const first = await post(room, long(1), "big-1");
    await api(`/api/rooms/${room}/messages`, { method: "POST", token, json: { clientId: "reply", text: "re: 1", replyTo: first.id } });
    for (let i = 2; i <= 200; i++) await post(room, long(i), `big-${i}`);
    await api(`/api/rooms/${room}/messages/${first.id}`, { method: "PATCH", token, json: { text: "edited" } });
    const page = async () => (await (await api(`/api/rooms/${room}/messages?limit=100&before=101`, { token })).json()) as { messages: unknown[] };
    const before = await page();
    await flushAll(room);
    expect(await d1Rows(room)).toHaveLength(201);
    await runInDurableObject(stubOf(room), (instance: Room) => (instance as unknown as { p: RoomParts }).p.store.prune(0));
    expect(await page()).toEqual(before);
  });
});

/** Writes messages straight into the room's store: the bulk path the socket would take. */
async function seed(room: string, count: number) {
  const stub = stubOf(room);
  await runInDurableObject(stub, (instance: Room) => {
    const { store, flusher } = (instance as unknown as { p: RoomParts }).p;
    for (let i = 1; i <= count; i++) {
      store.insert(room, { clientId: `seed-${i}`, author: { id: "seeder", name: "Seeder" }, text: `m${i}`, replyTo: null });
    }
    flusher.schedule();
  });
}
