import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { roomStub } from "../src/lib/room-rpc";
import type { Room } from "../src/room/Room";
import { api, call, connect, openSocket, partsOf, roomStubOf, TestSocket, tokenFor, uniqueRoom } from "./helpers";

/** MAX_SOCKETS_PER_ROOM in wrangler.toml. */
const MAX_SOCKETS = 10;

/** Every JSON line the Worker and the rooms write while `fn` runs. */
async function captureLogs(fn: () => Promise<void>): Promise<{ lines: Record<string, unknown>[]; raw: string }> {
  const written: string[] = [];
  for (const method of ["log", "warn", "error"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void written.push(args.map(String).join(" ")));
  }
  await fn();
  const lines = written.flatMap((text) => {
    try {
      return [JSON.parse(text) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  return { lines, raw: written.join("\n") };
}

afterEach(() => vi.restoreAllMocks());

describe("structured logs", () => {
  it("write one line per request with its id (cf-ray), method, path, status, duration and user, never the token or query", async () => {
    const room = await uniqueRoom();
    const token = await tokenFor("alice");
    const { lines, raw } = await captureLogs(async () => {
      const res = await api(`/api/rooms/${room}/messages?limit=5&secret=shh`, { token, headers: { "cf-ray": "8f00c0ffee000001-AMS" } });
      expect(res.status).toBe(200);
    });
    const line = lines.find((l) => l.requestId === "8f00c0ffee000001-AMS" && l.msg === "request");
    expect(line).toMatchObject({
      level: "info",
      method: "GET",
      path: `/api/rooms/${room}/messages`,
      status: 200,
      userId: "alice",
    });
    expect(line!.ms).toEqual(expect.any(Number));
    expect(raw).not.toContain(token);
    expect(raw).not.toContain("shh");
  });

  it("log a socket's path without its ?token=, and give requests without cf-ray a random id", async () => {
    const room = await uniqueRoom();
    const token = await tokenFor("bob");
    const { lines, raw } = await captureLogs(async () => {
      const res = await openSocket(room, token);
      expect(res.status).toBe(101);
      res.webSocket!.accept();
      res.webSocket!.close();
      expect((await api(`/api/rooms/${room}`, { token: "not-a-token" })).status).toBe(401);
    });
    const upgrade = lines.find((l) => l.path === `/parties/room/${room}`);
    expect(upgrade).toMatchObject({ msg: "request", status: 101, userId: "bob" });
    expect(upgrade!.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const refused = lines.find((l) => l.path === `/api/rooms/${room}` && l.status === 401);
    expect(refused).toBeDefined();
    expect(refused!.userId).toBeUndefined();
    expect(refused!.requestId).not.toBe(upgrade!.requestId);
    expect(raw).not.toContain(token);
    expect(raw).not.toContain("not-a-token");
  });

  it("carry the request id into the room: a removal's id is on the line the room writes", async () => {
    const room = await uniqueRoom();
    const { socket } = await connect(room, "carol");
    const { lines } = await captureLogs(async () => {
      const res = await call("DELETE", `/api/rooms/${room}/members/carol`, "alice");
      expect(res.status).toBe(204);
      expect((await socket.waitClosed()).code).toBe(1008);
    });
    const request = lines.find((l) => l.msg === "request" && l.method === "DELETE");
    const inRoom = lines.find((l) => l.msg === "removed member's sockets closed");
    expect(inRoom).toMatchObject({ roomId: room, removedUserId: "carol", sockets: 1, requestId: request!.requestId });
  });

  it("reach a room through roomStub for listed RPC methods (with the context) and any other (as they are)", async () => {
    const room = await uniqueRoom();
    const alice = { id: "alice", name: "alice", kind: "member" as const };
    const stub = roomStub(env, room);
    expect(await stub.access(room, alice)).toMatchObject({ ok: true });
    // Not in the list: straight to the stub, with the caller's own context argument.
    expect(await stub.inContext({ requestId: "direct" }, "access", [room, alice])).toMatchObject({ ok: true });
    expect(stub.id.toString()).toBe(env.ROOM.idFromName(room).toString());
  });

  it("carry a socket's upgrade id on what the room logs about the socket, also for its frames", async () => {
    const room = await uniqueRoom();
    const open = async (ray: string) => {
      const res = await openSocket(room, await tokenFor("dana"), { "cf-ray": ray });
      expect(res.status).toBe(101);
      res.webSocket!.accept();
      return new TestSocket(res.webSocket!);
    };
    const first = await open("8f00c0ffee000002-FRA");
    const { lines } = await captureLogs(async () => {
      // One socket over the cap closes the oldest (4008): logged in the upgrade of the newest.
      for (let i = 1; i <= MAX_SOCKETS; i++) await open(`8f00c0ffee00010${i}-FRA`);
      expect((await first.waitClosed()).code).toBe(4008);
    });
    expect(lines.find((l) => l.msg === "socket closed: over the socket cap")).toMatchObject({
      requestId: `8f00c0ffee00010${MAX_SOCKETS}-FRA`,
      closedRequestId: "8f00c0ffee000002-FRA",
      roomId: room,
      userId: "dana",
    });

    // A frame from a socket whose user is no longer a member (membership changed under it).
    const last = await open("8f00c0ffee000003-FRA");
    await runInDurableObject(roomStubOf(room), (instance: Room) => partsOf(instance).membership.remove("dana"));
    const { lines: later } = await captureLogs(async () => {
      last.send({ type: "typing", on: true });
      expect((await last.waitClosed()).code).toBe(1008);
    });
    expect(later.find((l) => l.msg === "socket closed: not a member")).toMatchObject({
      requestId: "8f00c0ffee000003-FRA",
      roomId: room,
      userId: "dana",
    });
  });
});
