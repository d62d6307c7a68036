import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RoomParts } from "../src/room/parts";
import { Room } from "../src/room/Room";
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
