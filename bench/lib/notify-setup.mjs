/**
 * The notify section's rooms and users (lib/scenario-notify.mjs): one group of `members` per
 * variant, created through the project's API, and the user sockets that stay open through
 * the section. Members other than each room's sender and receivers come from two pools:
 *
 *   quiet  never open a user socket (the rooms of `none` and `mentions`, most of `some`)
 *   live   each keeps one user socket open (all of `all`, the first `someSockets` of `some`)
 *
 * so a room reports unread counts to exactly its variant's watchers: none, `someSockets`, or
 * every member (in `all` the sender and receivers open one too). A live user in both `some` and
 * `all` hears from each room only while that room is sending.
 */
import { GenProcess } from "./gen.mjs";
import { devTokens } from "./servers.mjs";

export const NOTIFY_VARIANTS = ["none", "some", "all", "mentions"];

/**
 * Members named when a group is created; the rest are added one by one. The API accepts 500, but
 * POST /api/rooms/group looks them all up in one D1 statement (findUsers, src/db/users.ts) and
 * D1 binds at most 100 values: more than 100 answers 500 "too many SQL variables".
 */
const CREATE_MAX = 90;
const CONCURRENCY = 8;

const pool = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Who is in each variant's room and who of them keeps a user socket open. */
export function notifyPlan(c) {
  const others = c.members - 1 - c.receivers;
  const quiet = pool("nq", others);
  const live = pool("nl", others);
  const rooms = {};
  for (const v of c.variants) {
    const sender = `n${v}-s`;
    const receivers = pool(`n${v}-r`, c.receivers);
    const rest = v === "all" ? live : v === "some" ? [...live.slice(0, c.someSockets), ...quiet.slice(c.someSockets)] : quiet;
    const sockets = v === "all" ? [sender, ...receivers, ...live] : v === "some" ? live.slice(0, c.someSockets) : [];
    rooms[v] = { variant: v, sender, receivers, others: rest, sockets };
  }
  const socketUsers = [...new Set(Object.values(rooms).flatMap((r) => r.sockets))];
  const users = [...new Set(Object.values(rooms).flatMap((r) => [r.sender, ...r.receivers, ...r.others]))];
  return { rooms, users, socketUsers };
}

/** Runs `fn` over `items`, `n` at a time. */
async function parallel(items, n, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** Dev tokens for every user of the plan (which also creates their D1 rows). */
export async function tokensFor(base, ids) {
  const tokens = new Map();
  const chunks = [];
  for (let i = 0; i < ids.length; i += 50) chunks.push(ids.slice(i, i + 50));
  await parallel(chunks, CONCURRENCY, async (chunk) => {
    for (const t of await devTokens(base, chunk)) tokens.set(t.id, t);
  });
  return tokens;
}

async function api(base, token, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** The variant's group, created by its sender as the project's users would: one POST, then one per further member. */
export async function createRoom(base, tokens, room) {
  const token = tokens.get(room.sender).token;
  const members = [...room.receivers, ...room.others];
  const created = await api(base, token, "POST", "/api/rooms/group", { title: `bench notify ${room.variant}`, members: members.slice(0, CREATE_MAX) });
  const id = created.room.id;
  await parallel(members.slice(CREATE_MAX), 4, (userId) => api(base, token, "POST", `/api/rooms/${id}/members`, { userId }));
  return id;
}

/** One user socket per user, in a process of its own; the caller stops it. */
export async function openUserSockets(base, tokens, ids) {
  const gen = new GenProcess("notify:user-sockets", "lib/user-sockets.mjs");
  const res = await gen.call("connect", { base, users: ids.map((id) => tokens.get(id)) });
  if (res.connected !== ids.length) {
    await gen.stop();
    throw new Error(`${res.failed} of ${ids.length} user sockets failed (${res.firstError})`);
  }
  return gen;
}
