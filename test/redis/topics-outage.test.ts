/**
 * Topics never stand between a sender and their ack: with the Upstash topic store down (nothing
 * listens) or hanging (answers after 3 s), sends are acked at once, the outage is logged once,
 * and only the topics route reports it. Upstash only: the embedded store cannot be down.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readConfig } from "../../src/config";
import type { Room } from "../../src/room/Room";
import { roomTopicsFor } from "../../src/topics";
import { call, connect, expectError, partsOf, roomStubOf, sendAndAck, uniqueRoom } from "../helpers";

/** Gives the room topics whose Upstash store lives at `url`, wired as the Room wires its own. */
async function topicsAt(roomId: string, url: string) {
  const at = { ...env, UPSTASH_REDIS_REST_URL: url };
  await runInDurableObject(roomStubOf(roomId), (room: Room, state) => {
    const parts = partsOf(room);
    parts.topics = roomTopicsFor(state, at, readConfig(at), (frame) => parts.outbox.broadcast(frame));
  });
}


describe("topics while Redis is unavailable", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("acks every send when the topic store is down, logs it once, and answers the topics route with 503", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const room = await uniqueRoom("topics-down");
    await topicsAt(room, env.TEST_DOWN_REDIS_URL!);
    const { socket } = await connect(room, "alice");

    const first = await sendAndAck(socket, "kubernetes rollout tonight");
    await vi.waitFor(() => expect(errors).toHaveBeenCalledTimes(1), { timeout: 5000 });
    expect(String(errors.mock.calls[0]![0])).toContain("topics");

    // The next flush fails as well: the sends are acked, and the outage is not logged again.
    const second = await sendAndAck(socket, "grafana dashboards");
    expect(second.seq).toBe(first.seq + 1);
    await expectError(await call("GET", `/api/rooms/${room}/topics`, "alice"), 503, "unavailable");
    expect(errors).toHaveBeenCalledTimes(1);

    const res = await call("GET", `/api/rooms/${room}/messages`, "alice");
    expect(((await res.json()) as { messages: { text: string }[] }).messages.map((m) => m.text)).toEqual([
      "kubernetes rollout tonight",
      "grafana dashboards",
    ]);
    expect(socket.all("topics")).toEqual([]);
    socket.close();
  });

  it("acks before the hanging topic store is given up on (Redis's timeout), then logs it once", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const room = await uniqueRoom("topics-slow");
    await topicsAt(room, env.TEST_SLOW_REDIS_URL!);
    const { socket } = await connect(room, "alice");
    // The slow store answers after 3 s and the client gives up after REDIS_TIMEOUT_MS: an ack
    // that waited for topics would arrive after the error was logged.
    await sendAndAck(socket, "observability budget");
    expect(errors).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(errors).toHaveBeenCalledTimes(1), { timeout: 5000 });
    socket.close();
  });
});
