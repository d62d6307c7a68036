/**
 * The five targets as the scenarios see them: where to connect, which processes are the
 * server (for CPU and RSS), which users to connect as, and how to get a room to use.
 */
import { devTokens } from "./servers.mjs";

export const TARGETS = ["raw", "socket.io", "do-min", "do-sql", "ours"];
/** Only with --before-outbox: the project built with an earlier src/room/outbox.ts. */
export const OPTIONAL_TARGETS = ["ours-before"];

/**
 * The largeroom section's targets (issue 13): ours as it is (sharding off), ours with its shards
 * in a second workerd (lib/sharding.mjs), Socket.IO, and two Socket.IO processes on Redis. The
 * last two of these run in no other section.
 */
export const LARGE_ROOM_TARGETS = ["ours", "ours-sharded", "socket.io", "socket.io-cluster"];
export const LARGE_ROOM_ONLY = ["ours-sharded", "socket.io-cluster"];

/** Targets whose servers answer react and read (the mix section); raw and socket.io do not. */
export const MIX_TARGETS = ["do-min", "do-sql", "ours", "ours-before"];

/** What each target's figures are divided by in the tables ("× baseline"). */
export const BASELINE = { raw: null, "socket.io": "raw", "do-min": "raw", "do-sql": "do-min", ours: "do-min", "ours-before": "do-min" };

/**
 * The ratio lines the issue asks for, and ours / do-sql: do-sql pays one SQLite commit per
 * message, the floor for anything that stores a message before acknowledging it.
 */
export const RATIOS = [
  ["ours", "do-min"],
  ["ours", "socket.io"],
  ["do-min", "raw"],
  ["ours", "do-sql"],
  ["ours", "ours-before"],
];

/** Receiving sockets connect as one of these users (many tabs each), senders as s0..sN. */
export const RECEIVER_USERS = 10;

const ids = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

let roomCounter = 0;
const plainRoom = (label) => `${label}-${Date.now().toString(36)}-${++roomCounter}`;

export function makeTarget(name, servers) {
  if (name === "socket.io-cluster") {
    const server = servers[name];
    return {
      name,
      base: server.base,
      bases: server.bases,
      pids: server.pids,
      rssPids: server.rssPids,
      parts: server.parts,
      server,
      users: async (prefix, n) => ids(prefix, n).map((id) => ({ id })),
      prepareRoom: async (label) => plainRoom(label),
    };
  }
  if (name === "ours-sharded") {
    const a = servers.workerd;
    const bs = Object.keys(servers)
      .filter((k) => /^shards\d+$/.test(k))
      .sort()
      .map((k) => servers[k]);
    if (!a?.urls.sharded || bs.length === 0) throw new Error("ours-sharded needs its workerd processes (the largeroom section starts them)");
    return {
      ...oursTarget(a.urls.sharded, a),
      name,
      // Receivers enter at the shards' processes in turn, as a load balancer would route them (lib/sharding.mjs).
      receiverBases: bs.map((b) => b.urls.shards),
      pids: [a, ...bs].flatMap((s) => s.pids),
      rssPids: [a, ...bs].flatMap((s) => s.rssPids),
      parts: { "workerd A (rooms)": a.pids, ...Object.fromEntries(bs.map((b, i) => [`workerd B${i + 1} (shards)`, b.pids])) },
    };
  }
  if (name === "raw" || name === "socket.io") {
    const server = servers[name];
    return {
      name,
      base: server.base,
      pids: server.pids,
      rssPids: server.rssPids,
      server,
      users: async (prefix, n) => ids(prefix, n).map((id) => ({ id })),
      prepareRoom: async (label) => plainRoom(label),
    };
  }
  const w = servers.workerd;
  if (name === "do-min" || name === "do-sql") {
    return {
      name,
      base: w.urls.do,
      pids: w.pids,
      rssPids: w.rssPids,
      server: w,
      users: async (prefix, n) => ids(prefix, n).map((id) => ({ id })),
      prepareRoom: async (label) => plainRoom(label),
    };
  }
  if (name === "ours") return oursTarget(w.urls.ours, w);
  if (name === "ours-before") {
    if (!w.urls.oursBefore) throw new Error("ours-before needs --before-outbox");
    return { ...oursTarget(w.urls.oursBefore, w), name: "ours-before" };
  }
  throw new Error(`unknown target ${name}`);
}

/** The project: dev tokens, and a group room with every bench user in it (membership is checked). */
export function oursTarget(base, w) {
  const tokens = new Map();
  async function users(prefix, n) {
    const want = ids(prefix, n);
    const missing = want.filter((id) => !tokens.has(id));
    for (const t of await devTokens(base, missing)) tokens.set(t.id, t);
    return want.map((id) => tokens.get(id));
  }
  return {
    name: "ours",
    base,
    pids: w.pids,
    rssPids: w.rssPids,
    server: w,
    users,
    async prepareRoom(label, senders = 1) {
      const creator = (await users("s", Math.max(1, senders)))[0];
      const others = [...ids("s", senders).slice(1), ...ids("r", RECEIVER_USERS)];
      await users("r", RECEIVER_USERS);
      const res = await fetch(`${base}/api/rooms/group`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${creator.token}` },
        body: JSON.stringify({ title: `bench ${label}`, members: others }),
      });
      if (res.status === 201) return (await res.json()).room.id;
      if (res.status === 404) return plainRoom(label); // a server without group rooms: any id works
      throw new Error(`POST /api/rooms/group: HTTP ${res.status} ${await res.text()}`);
    },
  };
}
