/**
 * GET /api/admin/stats: who may ask, what the counters mean, and how rooms report them (on
 * change, debounced, deltas of online users, rows of silent rooms checked and expired).
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { STATS_TTL_MS, statsStub, type RoomReport, type Stats } from "../src/admin/stats";
import type { AdminStats as StatsBody } from "../src/client/types";
import type { Room } from "../src/room/Room";
import { StatsReporter } from "../src/room/stats";
import { asAdmin, eventually, tokenWithRoles } from "./admin-helpers";
import { api, call, connect, createGroup, expectError, flush, partsOf, people, postAs, roomStubOf, uniqueId, type TestSocket } from "./helpers";

async function stats(): Promise<StatsBody> {
  const res = await asAdmin("GET", "/api/admin/stats");
  expect(res.status).toBe(200);
  return (await res.json()) as StatsBody;
}

/** Sends the room's report now instead of after the debounce. */
const report = (roomId: string) => runInDurableObject(roomStubOf(roomId), (r: Room) => partsOf(r).stats.reportNow());

type StatsRow = { sockets: number; typing: number; version: number; reported_at: number; last_message_at: string | null };

/** The Stats object's row for a room, and the online user ids it holds for it. */
function statsRow(roomId: string) {
  return runInDurableObject(statsStub(env), (_: Stats, state) => ({
    row: state.storage.sql.exec<StatsRow>("SELECT * FROM rooms WHERE room_id = ?", roomId).toArray()[0] ?? null,
    online: state.storage.sql
      .exec<{ user_id: string }>("SELECT user_id FROM online WHERE room_id = ? ORDER BY user_id", roomId)
      .toArray()
      .map((r) => r.user_id),
  }));
}

const ageRow = (roomId: string, ms: number) =>
  runInDurableObject(statsStub(env), (_: Stats, state) => {
    state.storage.sql.exec("UPDATE rooms SET reported_at = reported_at - ? WHERE room_id = ?", ms, roomId);
  });

async function closeAll(roomIds: string[], sockets: TestSocket[]) {
  for (const s of sockets) s.close();
  for (const s of sockets) await s.waitClosed();
  // The room sees the closes a moment later; wait until it counts none, then report.
  for (const roomId of roomIds) {
    await eventually(() => runInDurableObject(roomStubOf(roomId), (r: Room) => partsOf(r).connections.size === 0), "sockets gone");
    await report(roomId);
  }
}

describe("who may read the stats", () => {
  it("refuses anyone without the admin role", async () => {
    await expectError(await api("/api/admin/stats"), 401, "unauthorized");
    const [member] = await people("member");
    await expectError(await call("GET", "/api/admin/stats", member!), 403, "forbidden");
    await expectError(await api("/api/admin/stats", { token: await tokenWithRoles(member!, ["staff"]) }), 403, "forbidden");
    const [visitor] = await people("visitor");
    await expectError(await call("GET", "/api/admin/stats", visitor!, undefined, "visitor"), 403, "forbidden");
    expect((await asAdmin("GET", "/api/admin/stats")).status).toBe(200);
  });
});

describe("live counters", () => {
  it("counts sockets, online users once however many rooms they are in, and typing users", async () => {
    const [x, y, z] = await people("x", "y", "z");
    const r1 = await createGroup(x!, [y!, z!]);
    const r2 = await createGroup(x!, [y!]);
    const before = await stats();

    const sockets = [
      (await connect(r1.id, x!)).socket,
      (await connect(r2.id, x!)).socket,
      (await connect(r1.id, y!)).socket,
      (await connect(r1.id, y!)).socket,
    ];
    await report(r1.id);
    await report(r2.id);
    const during = await stats();
    expect(during.connectedClients - before.connectedClients).toBe(4);
    expect(during.onlineUsers - before.onlineUsers).toBe(2);
    expect((await statsRow(r1.id)).online).toEqual([x, y].sort());
    expect((await statsRow(r2.id)).online).toEqual([x]);

    sockets[0]!.send({ type: "typing", on: true });
    await sockets[2]!.next("typing", (f) => f.userId === x && f.on);
    await report(r1.id);
    expect((await stats()).typingUsers - before.typingUsers).toBe(1);

    await closeAll([r1.id, r2.id], sockets);
    const after = await stats();
    expect(after.connectedClients).toBe(before.connectedClients);
    expect(after.onlineUsers).toBe(before.onlineUsers);
    expect(after.typingUsers).toBe(before.typingUsers);
  });

  it("are reported by the room on its own, a burst of changes in one or two reports", async () => {
    const [a, b] = await people("a", "b");
    const room = await createGroup(a!, [b!]);
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 5; i++) sockets.push((await connect(room.id, i % 2 ? a! : b!)).socket);
    // The first report leaves after a short pause, the next no sooner than 5 s after it.
    const row = await eventually(async () => {
      const { row } = await statsRow(room.id);
      return row?.sockets === 5 ? row : null;
    }, "the room's report of 5 sockets", 12_000);
    expect(row.version).toBeLessThanOrEqual(2);
    expect((await statsRow(room.id)).online).toEqual([a, b].sort());
    await closeAll([room.id], sockets);
    expect((await statsRow(room.id)).row).toMatchObject({ sockets: 0 });
  });

  it("sends the online list once, then only who came and went; the full list again when asked to", async () => {
    let online = ["u1", "u2", "u3"];
    const sent: RoomReport[] = [];
    let answer = { resync: false };
    const reporter = new StatsReporter(
      { roomId: () => "r", sockets: () => online.length, onlineUserIds: () => online, typing: () => 0 },
      async (r) => {
        sent.push(r);
        return answer;
      },
    );
    await reporter.reportNow();
    expect(sent[0]!.online).toEqual({ full: ["u1", "u2", "u3"] });
    online = ["u2", "u3", "u4"];
    await reporter.reportNow();
    expect(sent[1]!.online).toEqual({ added: ["u4"], removed: ["u1"] });
    expect(sent[1]!.version).toBe(sent[0]!.version + 1);
    answer = { resync: true };
    online = ["u2"];
    await reporter.reportNow();
    answer = { resync: false };
    await reporter.reportNow();
    expect(sent[3]!.online).toEqual({ full: ["u2"] });
  });

  it("refuses a delta that does not follow what it holds, and takes the full list after it", async () => {
    const roomId = uniqueId("fake");
    const stub = statsStub(env);
    const base = { roomId, epoch: "e1", sockets: 1, typing: 0, lastMessageAt: null };
    expect(await stub.report({ ...base, version: 1, online: { full: ["p"] } })).toEqual({ resync: false });
    expect(await stub.report({ ...base, version: 3, online: { added: ["q"], removed: [] } })).toEqual({ resync: true });
    // Until the full list arrives, no delta is taken.
    expect(await stub.report({ ...base, version: 4, online: { added: ["q"], removed: [] } })).toEqual({ resync: true });
    expect(await stub.report({ ...base, version: 5, online: { full: ["p", "q"] } })).toEqual({ resync: false });
    expect(await stub.report({ ...base, version: 6, online: { added: [], removed: ["p"] } })).toEqual({ resync: false });
    expect((await statsRow(roomId)).online).toEqual(["q"]);
    await stub.report({ ...base, version: 7, sockets: 0, online: { added: [], removed: ["q"] } });
  });

  it("checks a row its room stopped refreshing: a room still serving sockets keeps it, one evicted without a word loses it", async () => {
    const [a, b] = await people("a", "b");
    const live = await createGroup(a!, [b!]);
    const gone = await createGroup(a!, [b!]);
    const { socket: s1 } = await connect(live.id, a!);
    const { socket: s2 } = await connect(gone.id, b!);
    await report(live.id);
    await report(gone.id);
    const before = await stats();
    // The second room's object goes away with its sockets, and never reports again.
    await evictDurableObject(roomStubOf(gone.id), { webSockets: "close" });
    await s2.waitClosed();
    await ageRow(live.id, STATS_TTL_MS + 1000);
    await ageRow(gone.id, STATS_TTL_MS + 1000);
    expect((await stats()).connectedClients).toBe(before.connectedClients);

    await runDurableObjectAlarm(statsStub(env));
    const kept = (await statsRow(live.id)).row!;
    expect(kept.sockets).toBe(1);
    expect(Date.now() - kept.reported_at).toBeLessThan(STATS_TTL_MS);
    const dropped = (await statsRow(gone.id)).row;
    expect(dropped === null || dropped.sockets === 0).toBe(true);
    expect((await statsRow(gone.id)).online).toEqual([]);
    const after = await stats();
    expect(before.connectedClients - after.connectedClients).toBe(1);
    expect(before.onlineUsers - after.onlineUsers).toBe(1);
    await closeAll([live.id], [s1]);
  });

  it("drops the row of a room that cannot answer at all", async () => {
    const roomId = uniqueId("never-existed");
    const before = await stats();
    await statsStub(env).report({ roomId, epoch: "e", version: 1, sockets: 3, typing: 1, lastMessageAt: null, online: { full: ["ghost"] } });
    expect((await stats()).connectedClients - before.connectedClients).toBe(3);
    await ageRow(roomId, STATS_TTL_MS + 1000);
    await runDurableObjectAlarm(statsStub(env));
    expect((await statsRow(roomId)).row).toBeNull();
    expect(await stats()).toMatchObject({ connectedClients: before.connectedClients, onlineUsers: before.onlineUsers });
  });
});

describe("stored counters", () => {
  it("counts rooms, messages of the last hour (flushed to D1), and rooms with a recent message or a socket", async () => {
    const [a, b] = await people("a", "b");
    const before = await stats();
    const talk = await createGroup(a!, [b!]);
    const quiet = await createGroup(a!, [b!]);
    // An old message (two hours ago) counts for neither.
    await runInDurableObject(roomStubOf(talk.id), (r: Room) =>
      partsOf(r).store.insert(talk.id, { clientId: null, author: { id: a!, name: a! }, text: "old", replyTo: null }, new Date(Date.now() - 2 * 3600_000)),
    );
    for (const text of ["one", "two", "three"]) await postAs(talk.id, a!, text);
    await report(talk.id);
    let now = await stats();
    expect(now.rooms - before.rooms).toBe(2);
    expect(now.activeRooms - before.activeRooms).toBe(1);
    // Not flushed yet: D1 has not got them.
    expect(now.messagesLastHour - before.messagesLastHour).toBe(0);
    await flush(talk.id);
    now = await stats();
    expect(now.messagesLastHour - before.messagesLastHour).toBe(3);

    // A room with a socket and no messages is active too.
    const { socket } = await connect(quiet.id, b!);
    await report(quiet.id);
    expect((await stats()).activeRooms - before.activeRooms).toBe(2);
    await closeAll([quiet.id], [socket]);
    expect((await stats()).activeRooms - before.activeRooms).toBe(1);
  });
});
