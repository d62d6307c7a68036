/**
 * Large-room presence (src/room/presence.ts): rooms of 100 sockets or more announce presence
 * changes once per PRESENCE_INTERVAL_MS, as one batch, each with the room's count, and a room
 * filling with thousands of users costs O(1) per join. Real sockets through the Worker; the
 * client's own RoomPeople replays what a socket heard, as an app would see it.
 */
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RoomPeople } from "../src/client/people";
import { readConfig } from "../src/config";
import { WELCOME_ONLINE_LIMIT, type OnlineUser } from "../src/protocol";
import { COALESCE_FROM_SOCKETS, type PresenceOptions } from "../src/room/presence";
import type { Room } from "../src/room/Room";
import { api, connect, partsOf, roomStubOf, tokenFor, uniqueRoom, type TestSocket } from "./helpers";

const interval = readConfig(env).presenceIntervalMs;

/** What the client's people list makes of everything the socket heard. */
function peopleOf(socket: TestSocket): RoomPeople {
  const people = new RoomPeople();
  for (const f of socket.frames) {
    if (f.type === "welcome") people.welcome(f);
    else if (f.type === "presence") people.presence(f);
  }
  return people;
}

async function presenceList(room: string, asUser: string): Promise<OnlineUser[]> {
  const res = await api(`/api/rooms/${room}/presence`, { token: await tokenFor(asUser) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { online: OnlineUser[] }).online;
}

/** Sockets the test received with a presence frame in them (one per send: batches count once). */
const presenceSends = (socket: TestSocket) => socket.raw.filter((r) => r.includes('"type":"presence"')).length;

/**
 * A room at the size where presence is coalesced: a watcher and fillers (COALESCE_FROM_SOCKETS
 * sockets in all), once the watcher has heard of every one of them, so nothing is waiting to
 * be announced. `extra` users are members who have not connected.
 */
async function largeRoom(extra: string[]) {
  const tag = crypto.randomUUID().slice(0, 6);
  const fillers = Array.from({ length: COALESCE_FROM_SOCKETS - 1 }, (_, i) => `fill-${tag}-${i}`);
  const room = await uniqueRoom("large", ["watcher", ...fillers, ...extra]);
  const { socket: watcher } = await connect(room, "watcher");
  const sockets: TestSocket[] = [];
  for (let i = 0; i < fillers.length; i += 20) {
    sockets.push(...(await Promise.all(fillers.slice(i, i + 20).map((u) => connect(room, u)))).map((c) => c.socket));
  }
  await watcher.until(() => peopleOf(watcher).onlineCount === COALESCE_FROM_SOCKETS, "everyone announced");
  return { room, watcher, fillers: sockets, fillerIds: fillers };
}

/**
 * Closes the sockets, then waits until each user's object has heard the room's leave report
 * and written the user offline in D1. The file's teardown would otherwise cut that chain short
 * on a busy machine (an unhandled EnvironmentTeardownError fails the run).
 */
async function closeAndSettle(sockets: TestSocket[], userIds: string[]): Promise<void> {
  sockets.forEach((s) => s.close());
  const stillOnline = async () => {
    let online = 0;
    // D1 binds at most 100 parameters a statement.
    for (let i = 0; i < userIds.length; i += 90) {
      const ids = userIds.slice(i, i + 90);
      const row = await env.DB.prepare(`SELECT count(*) AS n FROM presence WHERE status != 'offline' AND user_id IN (${ids.map(() => "?").join(", ")})`)
        .bind(...ids)
        .first<{ n: number }>();
      online += row?.n ?? 0;
    }
    return online;
  };
  await expect.poll(stillOnline, { timeout: 60_000, interval: 200 }).toBe(0);
}

/**
 * Holds the room's presence announcements until the returned release announces them, so that
 * steps taking a few round trips fall within one interval however loaded the machine is (on a
 * busy one, 2 s of interval did not always cover a connect and a sync).
 */
async function holdPresence(room: string): Promise<() => Promise<void>> {
  const optionsOf = (r: Room) => (partsOf(r).connections.presence as unknown as { options: PresenceOptions }).options;
  await runInDurableObject(roomStubOf(room), (r: Room) => {
    optionsOf(r).intervalMs = 3_600_000;
  });
  return () =>
    runInDurableObject(roomStubOf(room), (r: Room) => {
      optionsOf(r).intervalMs = interval;
      partsOf(r).connections.presence.flush();
    });
}

describe("large-room presence", () => {
  it("lets 2,000 distinct users join one room with exact welcomes and counts, announcing them in a bounded number of sends", async () => {
    const tag = crypto.randomUUID().slice(0, 6);
    const users = Array.from({ length: 2000 }, (_, i) => `many-${tag}-${i}`);
    const room = await uniqueRoom("many", ["watcher", ...users]);
    const { socket: watcher, welcome: first } = await connect(room, "watcher");
    expect(first.onlineCount).toBe(1);
    const sockets: TestSocket[] = [watcher];
    const started = Date.now();
    for (let i = 0; i < users.length; i += 20) {
      const wave = await Promise.all(users.slice(i, i + 20).map((u) => connect(room, u)));
      // Each join counts once: the wave's welcomes count exactly the next 20 numbers.
      const counts = wave.map((c) => c.welcome.onlineCount).sort((a, b) => a - b);
      expect(counts).toEqual(Array.from({ length: wave.length }, (_, j) => i + 2 + j));
      for (const { welcome } of wave) {
        expect(welcome.online).toHaveLength(Math.min(WELCOME_ONLINE_LIMIT, welcome.onlineCount));
        expect(new Set(welcome.online.map((u) => u.id)).size).toBe(welcome.online.length);
      }
      sockets.push(...wave.map((c) => c.socket));
    }
    const elapsed = Date.now() - started;

    // The watcher's client ends with everyone, counted exactly, and so does one that joined
    // halfway (its welcome listed 100 of 1,000; the rest it learnt from presence frames).
    const everyone = users.length + 1;
    await watcher.until(() => peopleOf(watcher).onlineCount === everyone, "the last presence frame", 15_000);
    const halfway = sockets[1000]!;
    await halfway.until(() => peopleOf(halfway).onlineCount === everyone, "the last presence frame", 15_000);
    const online = await presenceList(room, "watcher");
    expect(online).toHaveLength(everyone);
    expect(new Set(online.map((u) => u.id))).toEqual(new Set(["watcher", ...users]));
    expect(online.every((u) => u.status === "online")).toBe(true);
    const listed = new Set(online.map((u) => u.id));
    expect(peopleOf(halfway).onlineUsers().every((u) => listed.has(u.id))).toBe(true);

    // One presence send per join while the room is small, then at most one per interval
    // (flushes are at least an interval apart), against one per join before.
    const sends = presenceSends(watcher);
    const bound = COALESCE_FROM_SOCKETS + Math.ceil(elapsed / interval) + 2;
    const total = sockets.reduce((n, s) => n + s.raw.length, 0);
    console.info(`2,000 joins: ${elapsed} ms; watcher: ${sends} presence sends (bound ${bound}); ${total} sends to all sockets (${(total / users.length).toFixed(1)} per join)`);
    expect(sends).toBeLessThanOrEqual(bound);
    expect(sends).toBeLessThan(users.length / 4);
    expect(watcher.all("presence").filter((p) => p.status !== "online")).toEqual([]);
    await closeAndSettle(sockets, ["watcher", ...users]);
  }, 600_000);

  it("counts a user with two sockets once and announces them offline only after the last closes", async () => {
    const { room, watcher, fillers, fillerIds } = await largeRoom(["dana", "carol"]);
    const { socket: phone } = await connect(room, "dana", "Dana");
    expect(await watcher.next("presence", (p) => p.userId === "dana")).toMatchObject({ status: "online", onlineCount: 101 });
    const { socket: laptop, welcome } = await connect(room, "dana", "Dana");
    expect(welcome.onlineCount).toBe(101);
    expect((await presenceList(room, "watcher")).filter((u) => u.id === "dana")).toHaveLength(1);

    phone.close();
    await expect.poll(() => runInDurableObject(roomStubOf(room), (r: Room) => partsOf(r).connections.socketsOf("dana").length)).toBe(1);
    // Carol's join leaves after the phone's close: had the close been a change, it would be out by then.
    const { socket: carol } = await connect(room, "carol");
    expect(await watcher.next("presence", (p) => p.userId === "carol")).toMatchObject({ status: "online", onlineCount: 102 });
    expect(watcher.all("presence").filter((p) => p.userId === "dana")).toHaveLength(1);

    laptop.close();
    expect(await watcher.next("presence", (p) => p.userId === "dana" && p.status === "offline")).toMatchObject({ onlineCount: 101 });
    expect(peopleOf(watcher).onlineCount).toBe(101);
    await closeAndSettle([watcher, carol, ...fillers], ["watcher", "carol", "dana", ...fillerIds]);
  });

  it("announces only a user's last state of an interval, with the others in the order they first changed", async () => {
    const { room, watcher, fillers, fillerIds } = await largeRoom(["alice", "carol"]);
    const before = watcher.raw.length;
    // Within one interval, held open until release: Alice's join starts it, the rest takes a few round trips.
    const release = await holdPresence(room);
    const { socket: alice } = await connect(room, "alice", "Alice");
    alice.send({ type: "presence", status: "away" });
    alice.send({ type: "presence", status: "online" });
    alice.send({ type: "presence", status: "away" });
    // Frames of a socket are handled in order: the answer means all three were.
    alice.send({ type: "sync", after: 0 });
    await alice.next("sync");
    const { socket: carol } = await connect(room, "carol", "Carol");
    await release();

    await watcher.next("presence", (p) => p.userId === "carol");
    expect(watcher.all("presence").filter((p) => p.userId === "alice" || p.userId === "carol")).toEqual([
      { type: "presence", userId: "alice", name: "Alice", status: "away", onlineCount: 101 },
      { type: "presence", userId: "carol", name: "Carol", status: "online", onlineCount: 102 },
    ]);
    // In one send.
    expect(watcher.raw.slice(before).filter((r) => r.includes('"type":"presence"'))).toHaveLength(1);
    await closeAndSettle([watcher, alice, carol, ...fillers], ["watcher", "alice", "carol", ...fillerIds]);
  });

  it("announces nothing for a user who came and went within one interval", async () => {
    const { room, watcher, fillers, fillerIds } = await largeRoom(["bob", "carol"]);
    const release = await holdPresence(room);
    const { socket: bob } = await connect(room, "bob", "Bob");
    bob.close();
    await expect.poll(() => runInDurableObject(roomStubOf(room), (r: Room) => partsOf(r).connections.statusOf("bob"))).toBe("offline");
    // Carol's join leaves with whatever Bob's visit left to say.
    const { socket: carol } = await connect(room, "carol", "Carol");
    await release();
    expect(await watcher.next("presence", (p) => p.userId === "carol")).toMatchObject({ status: "online", onlineCount: 101 });
    expect(watcher.all("presence").filter((p) => p.userId === "bob")).toEqual([]);
    expect(peopleOf(watcher).onlineCount).toBe(101);
    await closeAndSettle([watcher, carol, ...fillers], ["watcher", "bob", "carol", ...fillerIds]);
  });

  it("keeps a large room's presence when the object hibernates and counts on from it", async () => {
    const { room, watcher, fillers, fillerIds } = await largeRoom(["dana", "erin"]);
    const { socket: dana } = await connect(room, "dana", "Dana");
    dana.send({ type: "presence", status: "away" });
    await watcher.next("presence", (p) => p.userId === "dana" && p.status === "away");

    await evictDurableObject(roomStubOf(room));

    const online = await presenceList(room, "watcher");
    expect(online).toHaveLength(101);
    expect(online.find((u) => u.id === "dana")).toEqual({ id: "dana", name: "Dana", status: "away" });
    const { socket: erin, welcome } = await connect(room, "erin");
    expect(welcome.onlineCount).toBe(102);
    expect(welcome.online).toHaveLength(WELCOME_ONLINE_LIMIT);
    expect(welcome.online[0]).toMatchObject({ id: "watcher" });
    expect(await watcher.next("presence", (p) => p.userId === "erin")).toMatchObject({ status: "online", onlineCount: 102 });
    dana.close();
    expect(await watcher.next("presence", (p) => p.userId === "dana" && p.status === "offline")).toMatchObject({ onlineCount: 101 });
    await erin.next("presence", (p) => p.userId === "dana" && p.status === "offline");
    expect(peopleOf(erin).onlineCount).toBe(101);
    await closeAndSettle([watcher, erin, ...fillers], ["watcher", "dana", "erin", ...fillerIds]);
  });
});
