import { SELF, env, runDurableObjectAlarm } from "cloudflare:test";
import { expect } from "vitest";
import { signToken } from "../src/lib/jwt";
import { DEV_JWT_SECRET } from "../src/middleware/auth";
import { unwrapFrame, type AttachmentRef, type Message, type ServerFrame, type ServiceRole } from "../src/protocol";
import type { RoomParts } from "../src/room/parts";
import type { Room } from "../src/room/Room";

export const BASE = "http://localhost";

let counter = 0;
/** A room id no other test uses, so tests never share a Durable Object. */
export function uniqueId(prefix = "room"): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}-${crypto.randomUUID().slice(0, 6)}`;
}

/** The users the tests talk as; every room from `uniqueRoom` has them all as members. */
export const TEST_USERS = ["alice", "bob", "carol", "dana", "watcher", "seeder", "s1", "s2", "s3", "s4", "w1", "w2"];

export async function ensureUsers(ids: string[]) {
  await env.DB.batch(
    ids.map((id) =>
      env.DB.prepare("INSERT INTO users (id, name, kind) VALUES (?, ?, 'member') ON CONFLICT (id) DO NOTHING").bind(id, id),
    ),
  );
}

/**
 * A new group room, created through the room's own RPC as the Worker does: the first user is
 * its admin, the rest members.
 */
export async function uniqueRoom(prefix = "room", users: string[] = TEST_USERS): Promise<string> {
  const id = uniqueId(prefix);
  await ensureUsers(users);
  const now = new Date().toISOString();
  const result = await env.ROOM.get(env.ROOM.idFromName(id)).create(
    { id, kind: "group", title: `Test ${id}`, createdBy: users[0]!, createdAt: now },
    users.map((u, i) => ({ id: u, name: u, role: i === 0 ? ("admin" as const) : ("member" as const) })),
  );
  if (!result.ok) throw new Error(`could not create ${id}: ${result.message}`);
  return id;
}

export async function tokenFor(userId: string, name = userId, kind: "member" | "visitor" = "member", roles?: ServiceRole[]) {
  return signToken({ sub: userId, name, kind, roles, exp: Math.floor(Date.now() / 1000) + 3600 }, DEV_JWT_SECRET);
}

export async function api(path: string, init: RequestInit & { token?: string; json?: unknown } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return SELF.fetch(`${BASE}${path}`, { ...init, headers, body });
}

type Frame = ServerFrame;
type FrameOf<T extends Frame["type"]> = Extract<Frame, { type: T }>;

/** A real WebSocket through the Worker, with a queue of received (unwrapped) frames. */
export class TestSocket {
  readonly frames: Frame[] = [];
  raw: string[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];
  private readonly taken = new Set<number>();

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      const text = typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer);
      this.raw.push(text);
      this.frames.push(...unwrapFrame(JSON.parse(text) as Frame));
      this.wake();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake();
    });
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Waits until `check` returns something, re-checking on every received frame. */
  async until<R>(check: () => R | undefined | false, what = "condition", timeoutMs = 8000): Promise<R> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.slice(-5))}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The first frame of this type (and match) not taken by an earlier call. */
  async next<T extends Frame["type"]>(type: T, match: (f: FrameOf<T>) => boolean = () => true): Promise<FrameOf<T>> {
    return this.until(() => {
      for (let i = 0; i < this.frames.length; i++) {
        const f = this.frames[i]!;
        if (!this.taken.has(i) && f.type === type && match(f as FrameOf<T>)) {
          this.taken.add(i);
          return f as FrameOf<T>;
        }
      }
      return undefined;
    }, `a '${type}' frame`);
  }

  all<T extends Frame["type"]>(type: T): FrameOf<T>[] {
    return this.frames.filter((f): f is FrameOf<T> => f.type === type);
  }

  async waitClosed(): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed ?? undefined, "close");
  }

  close() {
    if (!this.closed) this.ws.close(1000, "bye");
  }
}

/** A socket upgrade through the Worker with `?token=`, or (token null) the raw `query` given. */
/** `cf`: where the request comes from, as Cloudflare's edge stamps it (request.cf). */
export async function openSocket(roomId: string, token: string | null, headers: Record<string, string> = {}, query = "", cf?: Record<string, string>) {
  const search = token === null ? (query ? `?${query}` : "") : `?token=${encodeURIComponent(token)}`;
  return SELF.fetch(`${BASE}/parties/room/${roomId}${search}`, { headers: { upgrade: "websocket", ...headers }, ...(cf ? { cf } : {}) });
}

/** Connects and waits for `welcome`. */
export async function connect(roomId: string, userId: string, name = userId, cf?: Record<string, string>) {
  const res = await openSocket(roomId, await tokenFor(userId, name), {}, "", cf);
  if (res.status !== 101) throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  const ws = res.webSocket!;
  ws.accept();
  const socket = new TestSocket(ws);
  const welcome = await socket.next("welcome");
  return { socket, welcome };
}

let clientSeq = 0;
export const newClientId = () => `c-${Date.now().toString(36)}-${clientSeq++}`;

/** Sends a message over the socket and waits for its ack. */
export async function sendAndAck(socket: TestSocket, text: string, clientId = newClientId()) {
  socket.send({ type: "send", clientId, text });
  return socket.next("ack", (a) => a.clientId === clientId);
}

// ---- REST as a given user, rooms, flushes ------------------------------------------------

export type RoomView = { id: string; kind: string; title: string | null; role: string; lastMessage: Message | null; unread: number };

export async function call(method: string, path: string, user: string | null, json?: unknown, kind: "member" | "visitor" = "member") {
  const token = user === null ? undefined : await tokenFor(user, user, kind);
  return api(path, { method, token, json });
}

export async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
}

/** Fresh user ids for one test, registered in D1 as members. */
export async function people(...names: string[]) {
  const ids = names.map((n) => uniqueId(n));
  await ensureUsers(ids);
  return ids;
}

export async function createGroup(admin: string, members: string[], title = "Team") {
  const res = await call("POST", "/api/rooms/group", admin, { title, members });
  expect(res.status).toBe(201);
  return ((await res.json()) as { room: RoomView }).room;
}

export async function flush(roomId: string) {
  while (await runDurableObjectAlarm(env.ROOM.get(env.ROOM.idFromName(roomId))));
}


/** The Durable Object of a room. */
export const roomStubOf = (roomId: string) => env.ROOM.get(env.ROOM.idFromName(roomId));

/** A room's parts, inside `runInDurableObject`. */
export const partsOf = (room: Room) => (room as unknown as { p: RoomParts }).p;

/** Posts a message over REST as `user` and returns it (201 expected). */
export async function postAs(roomId: string, user: string, text: string, extra: { replyTo?: string } = {}): Promise<Message> {
  const res = await call("POST", `/api/rooms/${roomId}/messages`, user, { clientId: crypto.randomUUID(), text, ...extra });
  expect(res.status).toBe(201);
  return ((await res.json()) as { message: Message }).message;
}

/** Uploads `text` as a plain-text file to a room as `user` and returns it (201 expected). */
export async function uploadAs(roomId: string, user: string, text = `file of ${user}`, name = "notes.txt"): Promise<AttachmentRef> {
  const res = await api(`/api/rooms/${roomId}/attachments?name=${encodeURIComponent(name)}`, {
    method: "POST",
    token: await tokenFor(user),
    headers: { "content-type": "text/plain" },
    body: text,
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { attachment: AttachmentRef }).attachment;
}
