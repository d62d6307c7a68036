/// <reference types="node" />
/**
 * How the room socket closes for a standards client (the `ws` package, as Node's own WebSocket
 * behaves) under `wrangler dev`: the closing handshake on the wire, not just inside workerd.
 *
 * A client's `close` event fires once the TCP connection ends. When the client closes, the room
 * echoes its close frame and the connection ends at once. When the room closes (a member is
 * removed), the close frame leaves at once but workerd ends the connection only when the room
 * object leaves memory; why is in `Room.evict` (src/room/Room.ts).
 */
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../scripts/dev-server";

let server: DevServer;
beforeAll(async () => {
  server = await startDevServer();
});
afterAll(async () => {
  await server?.stop();
});

async function login(userId: string): Promise<string> {
  const res = await fetch(`${server.url}/api/auth/dev`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId, name: userId }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

/** A socket that has had its `welcome`, with every frame it gets and its close, timed. */
async function open(roomId: string, token: string) {
  const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/parties/room/${roomId}?token=${token}`);
  const frames: { type: string; userId?: string; status?: string }[] = [];
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString(), at: performance.now() })),
  );
  ws.on("message", (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; frames?: typeof frames };
    frames.push(...(frame.type === "batch" ? frame.frames! : [frame]));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("message", () => resolve());
    ws.once("error", reject);
  });
  return { ws, frames, closed };
}

/** Resolves when `check` holds, polling; rejects after `ms`. */
async function until(check: () => boolean, what: string, ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now();
}

describe("closing the room socket, from Node against wrangler dev", () => {
  it("ends at once when the client closes: the room echoes its close frame", async () => {
    const token = await login("closer");
    const { ws, closed } = await open("community", token);
    const started = performance.now();
    ws.close(1000, "bye");
    const { code, at } = await closed;
    expect(code).toBe(1000);
    // Without the echo the client would wait for its own 30 s timeout (1006).
    expect(at - started).toBeLessThan(3000);
  });

  it(
    "sends a removed member 1008 at once and leaves the others' sockets open; the close event follows when the room goes idle",
    async () => {
      const admin = await login("admin1");
      await login("gone1");
      const res = await fetch(`${server.url}/api/rooms/group`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
        body: JSON.stringify({ title: "closing", members: ["gone1"] }),
      });
      expect(res.status).toBe(201);
      const { room } = (await res.json()) as { room: { id: string } };
      const stays = await open(room.id, admin);
      const gone = await open(room.id, await login("gone1"));

      const started = performance.now();
      const removed = await fetch(`${server.url}/api/rooms/${room.id}/members/gone1`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${admin}` },
      });
      expect(removed.status).toBe(204);
      // The close frame arrived: the client answered it and is CLOSING, waiting for the TCP end.
      const frameAt = await until(() => gone.ws.readyState !== WebSocket.OPEN, "close frame", 3000);
      await until(() => stays.frames.some((f) => f.type === "presence" && f.userId === "gone1" && f.status === "offline"), "presence", 3000);
      expect(stays.ws.readyState).toBe(WebSocket.OPEN);

      const { code, reason, at } = await gone.closed;
      expect({ code, reason }).toEqual({ code: 1008, reason: "removed from the room" });
      expect(frameAt).toBeLessThanOrEqual(at);
      // Not a bound we want but the runtime's (Room.evict): the connection ends when the room has
      // been idle for 10 s. Printed so a runtime that fixes it shows up here.
      console.info(`removed member: close frame after ${Math.round(frameAt - started)} ms, close event after ${Math.round(at - started)} ms`);
      stays.ws.close();
    },
    60_000,
  );
});
