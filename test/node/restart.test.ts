/// <reference types="node" />
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../scripts/dev-server";

async function login(url: string, userId: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/dev`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId, name: userId }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

async function post(url: string, token: string, room: string, clientId: string, text: string) {
  const res = await fetch(`${url}/api/rooms/${room}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ clientId, text }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { message: { seq: number } }).message;
}

describe("a server restart under `npm start`", () => {
  let server: DevServer | undefined;
  let persistDir = "";
  afterAll(async () => {
    await server?.stop();
    if (persistDir) await rm(persistDir, { recursive: true, force: true });
  });

  it("keeps history and continues seq where it left off", async () => {
    // The test owns the state directory, so it outlives the first server.
    persistDir = await mkdtemp(join(tmpdir(), "edge-chat-restart-"));
    server = await startDevServer({ persistDir });
    const room = "community"; // every member belongs to it, and each server here starts empty
    let token = await login(server.url, "alice");
    for (let i = 1; i <= 5; i++) await post(server.url, token, room, `c${i}`, `before restart ${i}`);
    await server.stop();

    server = await startDevServer({ persistDir });
    token = await login(server.url, "alice");
    const next = await post(server.url, token, room, "c6", "after restart");
    expect(next.seq).toBe(6);
    const res = await fetch(`${server.url}/api/rooms/${room}/messages`, { headers: { authorization: `Bearer ${token}` } });
    const { messages } = (await res.json()) as { messages: { seq: number; text: string }[] };
    expect(messages.map((m) => [m.seq, m.text])).toEqual([
      [1, "before restart 1"],
      [2, "before restart 2"],
      [3, "before restart 3"],
      [4, "before restart 4"],
      [5, "before restart 5"],
      [6, "after restart"],
    ]);
    // A resend of a message from before the restart is still recognised.
    const again = await fetch(`${server.url}/api/rooms/${room}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ clientId: "c3", text: "before restart 3" }),
    });
    expect(again.status).toBe(200);
  });
});
