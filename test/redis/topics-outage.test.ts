/**
 * Topics never stand between a sender and their ack: with the Upstash topic store down (nothing
 * listens) or hanging (answers after 3 s), sends are acked at once, the outage is logged once,
 * and only the topics route reports it. Upstash only: the embedded store cannot be down.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readConfig } from "../../src/config";
import type { Room } from "../../src/room/Room";
import { STORE_TIMEOUT_MS, roomTopicsFor } from "../../src/topics";
import { call, connect, expectError, partsOf, roomStubOf, sendAndAck, uniqueRoom } from "../helpers";

/** Gives the room topics whose Upstash store lives at `url`, wired as the Room wires its own. */
async function topicsAt(roomId: string, url: string) {
  const at = { ...env, UPSTASH_REDIS_REST_URL: url };
  await runInDurableObject(roomStubOf(roomId), (room: Room, state) => {
    const parts = partsOf(room);
    parts.topics = roomTopicsFor(state, at, readConfig(at), (frame) => parts.outbox.broadcast(frame));
  });
}

async function timedAck(socket: Parameters<typeof sendAndAck>[0], text: string) {
  const started = Date.now();
  const ack = await sendAndAck(socket, text);
  return { ack, ms: Date.now() - started };
}

describe("topics while Redis is unavailable", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("acks every send when the topic store is down, logs it once, and answers the topics route with 500", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const room = await uniqueRoom("topics-down");
    await topicsAt(room, env.TEST_DOWN_REDIS_URL!);
    const { socket } = await connect(room, "alice");

    const first = await timedAck(socket, "kubernetes rollout tonight");
    expect(first.ms).toBeLessThan(1000);
    await vi.waitFor(() => expect(errors).toHaveBeenCalledTimes(1), { timeout: 5000 });
    expect(String(errors.mock.calls[0]![0])).toContain("topics");

    // The next flush fails as well: the sends are acked, and the outage is not logged again.
    const second = await timedAck(socket, "grafana dashboards");
    expect(second.ack.seq).toBe(first.ack.seq + 1);
    await expectError(await call("GET", `/api/rooms/${room}/topics`, "alice"), 500, "internal");
    expect(errors).toHaveBeenCalledTimes(1);

    const res = await call("GET", `/api/rooms/${room}/messages`, "alice");
    expect(((await res.json()) as { messages: { text: string }[] }).messages.map((m) => m.text)).toEqual([
      "kubernetes rollout tonight",
      "grafana dashboards",
    ]);
    expect(socket.all("topics")).toEqual([]);
    socket.close();
  });

  it("acks at once when the topic store hangs, and gives up on it after the timeout", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const room = await uniqueRoom("topics-slow");
    await topicsAt(room, env.TEST_SLOW_REDIS_URL!);
    const { socket } = await connect(room, "alice");

    const started = Date.now();
    const { ms } = await timedAck(socket, "observability budget");
    expect(ms).toBeLessThan(1000);
    await vi.waitFor(() => expect(errors).toHaveBeenCalledTimes(1), { timeout: STORE_TIMEOUT_MS + 3000 });
    // Not before the store had its chance to answer, and not after the 3 s it would take.
    const gaveUpAfter = Date.now() - started;
    expect(gaveUpAfter).toBeGreaterThanOrEqual(STORE_TIMEOUT_MS);
    expect(gaveUpAfter).toBeLessThan(3000 + 300);
    expect(String(errors.mock.calls[0]![1])).toContain(`${STORE_TIMEOUT_MS} ms`);
    socket.close();
  });
});
