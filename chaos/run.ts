/// <reference types="node" />
/**
 * Crash-and-recover check. Clients that behave like the browser client send steadily into a
 * few rooms while the `wrangler dev` process is SIGKILLed and restarted on the same state
 * directory, with FLUSH_INTERVAL_MS low so flush alarms fire constantly. At the end:
 *
 * - every acknowledged message is in history and in D1 exactly once, with its acked id/seq;
 * - each room's seq is contiguous from 1, in history and in D1;
 * - every client's received stream equals history;
 * - every unacknowledged message was stored once or not at all.
 *
 * Usage: npm run chaos -- [--rooms 3] [--clients 4] [--duration 60] [--kills 4]
 *          [--flush-ms 200] [--send-ms 1200] [--burst 3] [--seed N] [--shards N] [--keep]
 *
 * `--shards N` runs with ROOM_SHARD_THRESHOLD=N: each room holds N sockets itself and places
 * the rest on shard objects (README, "Very large rooms"), so `--shards 1` spreads a room's
 * clients over the room and its shards.
 * Exits 1 on any loss, duplicate, gap or mismatch.
 */
import { rmSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ChaosClient, type Seen } from "./client";
import { WranglerDev, applyMigrations, freePort, killStarted, queryD1, sleep } from "../scripts/dev-server";

export interface ChaosOptions {
  rooms: number;
  /** Clients per room, each its own user. */
  clients: number;
  /** Seconds of traffic, spread over the phases between kills. */
  durationS: number;
  kills: number;
  flushIntervalMs: number;
  /** Average pause between one client's sends. */
  sendEveryMs: number;
  /** Sends each client fires just before a kill, so some are in flight when it lands. */
  burst: number;
  seed: number;
  /** ROOM_SHARD_THRESHOLD for the run (sockets per object); 0 leaves wrangler.toml's. */
  shardThreshold: number;
  /** Keep the state directory for inspection. */
  keep: boolean;
  log: (line: string) => void;
}

export const DEFAULTS: ChaosOptions = {
  rooms: 3,
  clients: 4,
  durationS: 60,
  kills: 4,
  flushIntervalMs: 200,
  sendEveryMs: 1200,
  burst: 3,
  seed: Date.now() % 1_000_000,
  shardThreshold: 0,
  keep: false,
  log: (line) => console.log(line),
};

export interface ChaosReport {
  seed: number;
  kills: number;
  rooms: number;
  clients: number;
  sent: number;
  acked: number;
  stored: number;
  duplicates: number;
  lost: number;
  unackedStored: number;
  unackedNotStored: number;
  resends: number;
  reconnects: number;
  d1Rows: number;
  /** Shard objects the rooms used (their storage in the state directory). */
  shardObjects: number;
  problems: string[];
  persistDir: string;
}

interface D1Row {
  room_id: string;
  seq: number;
  id: string;
  client_id: string | null;
}

interface HistoryMessage {
  id: string;
  seq: number;
  clientId: string | null;
  author: { id: string };
  text: string;
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function json<T>(res: Response, what: string): Promise<T> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function login(baseUrl: string, userId: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/dev`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId, name: userId }),
  });
  return (await json<{ token: string }>(res, `dev login ${userId}`)).token;
}

/** A group room with these members if the server has groups; otherwise a room by name. */
async function makeRoom(baseUrl: string, token: string, members: string[], fallback: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/rooms/group`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ title: fallback, members }),
  });
  if (res.status === 404 || res.status === 405) return fallback;
  return (await json<{ room: { id: string } }>(res, "create group room")).room.id;
}

async function history(baseUrl: string, token: string, roomId: string): Promise<HistoryMessage[]> {
  const all: HistoryMessage[] = [];
  let before: number | null = null;
  for (;;) {
    const q: string = before === null ? "limit=100" : `limit=100&before=${before}`;
    const res = await fetch(`${baseUrl}/api/rooms/${encodeURIComponent(roomId)}/messages?${q}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const page = await json<{ messages: HistoryMessage[]; nextBefore: number | null }>(res, `history of ${roomId}`);
    all.unshift(...page.messages);
    if (page.nextBefore === null) return all;
    before = page.nextBefore;
  }
}

async function lastSeqOf(baseUrl: string, token: string, roomId: string): Promise<number> {
  const res = await fetch(`${baseUrl}/api/rooms/${encodeURIComponent(roomId)}/messages?limit=1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const page = await json<{ messages: HistoryMessage[] }>(res, `last seq of ${roomId}`);
  return page.messages.at(-1)?.seq ?? 0;
}

const brief = (m: Seen | HistoryMessage) =>
  JSON.stringify({ seq: m.seq, id: m.id, clientId: m.clientId, text: m.text });

/**
 * The budgets chaos would trip, raised (never removed): every client sends steadily plus a burst
 * before each kill, and reconnects after every restart, so the sends, frames and connections of
 * one user go past wrangler.toml's per-minute budgets. The limits still count every send.
 */
const CHAOS_BUDGETS = {
  RATE_SENDS: "1000000/1m",
  RATE_FRAMES: "1000000/1m",
  RATE_CONNECTIONS: "1000000/1m",
};

/** State directories of runs in progress, removed on Ctrl-C too. */
const scratchDirs = new Set<string>();

export async function runChaos(partial: Partial<ChaosOptions> = {}): Promise<ChaosReport> {
  const o: ChaosOptions = { ...DEFAULTS, ...partial };
  const log = o.log;
  const random = mulberry32(o.seed);
  const persistDir = await mkdtemp(join(tmpdir(), "edge-chat-chaos-"));
  if (!o.keep) scratchDirs.add(persistDir);
  const problems: string[] = [];
  const server = new WranglerDev({
    port: await freePort(),
    persistDir,
    vars: {
      DEV_MODE: "true",
      FLUSH_INTERVAL_MS: String(o.flushIntervalMs),
      ...CHAOS_BUDGETS,
      ...(o.shardThreshold > 0 ? { ROOM_SHARD_THRESHOLD: String(o.shardThreshold) } : {}),
    },
  });
  const clients: ChaosClient[] = [];
  const tickers: ReturnType<typeof setTimeout>[] = [];
  let sending = false;
  let kills = 0;

  const sharding = o.shardThreshold > 0 ? `, ${o.shardThreshold} socket(s) per object (shards on)` : "";
  log(`chaos: seed ${o.seed}, ${o.rooms} rooms x ${o.clients} clients, ${o.durationS} s, ${o.kills} kills, flush every ${o.flushIntervalMs} ms${sharding}, state in ${persistDir}`);
  try {
    await applyMigrations(persistDir);
    let t = Date.now();
    await server.start();
    log(`chaos: server up at ${server.url} in ${Date.now() - t} ms`);

    // Users, rooms, clients.
    const rooms: { id: string; token: string; clients: ChaosClient[] }[] = [];
    const run = o.seed.toString(36);
    for (let r = 0; r < o.rooms; r++) {
      const users = Array.from({ length: o.clients }, (_, c) => `chaos-${run}-r${r}-c${c}`);
      const tokens = await Promise.all(users.map((u) => login(server.url, u)));
      const id = await makeRoom(server.url, tokens[0]!, users.slice(1), `chaos-${run}-${r}`);
      const roomClients = users.map(
        (userId, c) => new ChaosClient({ baseUrl: server.url, roomId: id, userId, token: tokens[c]!, maxInFlight: 8, random }),
      );
      rooms.push({ id, token: tokens[0]!, clients: roomClients });
      clients.push(...roomClients);
    }
    for (const c of clients) c.start();
    for (const c of clients) {
      if (!(await c.until(() => c.isOpen, 30_000))) throw new Error(`${c.options.userId} was never welcomed`);
    }

    // Steady traffic, also while the server is down (sends queue up, as in a browser).
    sending = true;
    for (const c of clients) {
      const tick = () => {
        if (!sending) return;
        c.send();
        tickers.push(setTimeout(tick, o.sendEveryMs * (0.5 + random())));
      };
      tickers.push(setTimeout(tick, o.sendEveryMs * random()));
    }

    const phaseMs = (o.durationS * 1000) / (o.kills + 1);
    for (let k = 1; k <= o.kills; k++) {
      await sleep(phaseMs * (0.6 + 0.8 * random()));
      // A burst right before the kill: some of it is stored without its ack getting out.
      for (const c of clients) for (let i = 0; i < o.burst; i++) c.send();
      await sleep(random() * 15);
      await server.kill();
      kills++;
      // Some tabs are closed during the outage: their unacknowledged sends are never resent.
      let abandoned = 0;
      for (const c of clients) if (random() < 0.25) abandoned += c.abandonPending();
      await sleep(300 + random() * 1200);
      t = Date.now();
      await server.start();
      log(`chaos: kill ${k}/${o.kills} done, restarted in ${Date.now() - t} ms, ${abandoned} unacked sends abandoned`);
    }
    await sleep(phaseMs);
    sending = false;
    for (const t of tickers) clearTimeout(t);

    // Quiesce: every pending send acked, every client caught up with its room.
    for (const c of clients) {
      if (!(await c.until(() => c.isOpen && c.inFlight === 0, 60_000))) {
        problems.push(`${c.options.userId}: ${c.inFlight} sends still unacknowledged after 60 s`);
      }
    }
    const lastSeqs = new Map<string, number>();
    for (const room of rooms) {
      const last = await lastSeqOf(server.url, room.token, room.id);
      lastSeqs.set(room.id, last);
      for (const c of room.clients) {
        c.resync();
        if (!(await c.until(() => c.lastContiguousSeq >= last, 30_000))) {
          problems.push(`${c.options.userId}: caught up only to seq ${c.lastContiguousSeq} of ${last}`);
        }
      }
    }

    // D1 after the final flush: wait until it holds every room's lastSeq.
    t = Date.now();
    let d1: D1Row[] = [];
    for (;;) {
      const counts = await queryD1<{ room_id: string; n: number; m: number }>(
        persistDir,
        "SELECT room_id, count(*) AS n, max(seq) AS m FROM messages GROUP BY room_id",
      );
      const done = rooms.every((r) => {
        const row = counts.find((c) => c.room_id === r.id);
        const last = lastSeqs.get(r.id) ?? 0;
        return last === 0 ? !row : row !== undefined && row.m >= last && row.n >= last;
      });
      if (done) break;
      if (Date.now() - t > 90_000) {
        problems.push(`D1 did not catch up within 90 s: ${JSON.stringify(counts)} vs ${JSON.stringify([...lastSeqs])}`);
        break;
      }
      await sleep(1000);
    }
    log(`chaos: D1 caught up in ${Date.now() - t} ms`);
    d1 = await queryD1<D1Row>(persistDir, "SELECT room_id, seq, id, client_id FROM messages");

    // ---- The checks ----
    let sent = 0;
    let acked = 0;
    let stored = 0;
    let duplicates = 0;
    let lost = 0;
    let unackedStored = 0;
    let unackedNotStored = 0;
    let resends = 0;
    let reconnects = 0;
    for (const room of rooms) {
      const h = await history(server.url, room.token, room.id);
      stored += h.length;
      const last = lastSeqs.get(room.id) ?? 0;
      if (h.length !== last || h.some((m, i) => m.seq !== i + 1)) {
        const seqs = h.map((m) => m.seq);
        problems.push(`room ${room.id}: history seqs are not 1..${last}: ${JSON.stringify(seqs.slice(0, 20))}${seqs.length > 20 ? "…" : ""} (${seqs.length} rows)`);
      }

      // Stored rows by clientId.
      const byClientId = new Map<string, HistoryMessage[]>();
      for (const m of h) {
        const key = m.clientId ?? `(null clientId at seq ${m.seq})`;
        byClientId.set(key, [...(byClientId.get(key) ?? []), m]);
      }
      const sentHere = new Map(room.clients.flatMap((c) => [...c.sent.values()].map((s) => [s.clientId, s] as const)));
      for (const [clientId, rows] of byClientId) {
        const s = sentHere.get(clientId);
        if (!s) problems.push(`room ${room.id}: a message no client sent: ${brief(rows[0]!)}`);
        else if (rows[0]!.text !== s.text) problems.push(`room ${room.id}: ${clientId} stored with another text: ${brief(rows[0]!)}`);
      }
      // Every text is unique to one send, so a text stored twice is a duplicate even when
      // the copies carry different clientIds.
      const byText = new Map<string, HistoryMessage[]>();
      for (const m of h) byText.set(m.text, [...(byText.get(m.text) ?? []), m]);
      const rowsOf = (s: { clientId: string; text: string }) => {
        const rows = new Map<string, HistoryMessage>();
        for (const m of [...(byClientId.get(s.clientId) ?? []), ...(byText.get(s.text) ?? [])]) rows.set(m.id, m);
        return [...rows.values()].sort((a, b) => a.seq - b.seq);
      };

      for (const c of room.clients) {
        reconnects += Math.max(0, c.connects - 1);
        for (const s of c.sent.values()) {
          sent++;
          resends += Math.max(0, s.attempts - 1);
          const rows = rowsOf(s);
          if (rows.length > 1) {
            duplicates += rows.length - 1;
            problems.push(`room ${room.id}: ${s.clientId} stored ${rows.length} times: ${rows.map(brief).join(" ")}`);
          }
          if (s.ack) {
            acked++;
            if (rows.length === 0) {
              lost++;
              problems.push(`room ${room.id}: LOST acked ${s.clientId} (seq ${s.ack.seq}, id ${s.ack.id})`);
            } else if (rows[0]!.id !== s.ack.id || rows[0]!.seq !== s.ack.seq) {
              lost++;
              problems.push(`room ${room.id}: acked ${s.clientId} as seq ${s.ack.seq}/${s.ack.id} but stored as ${brief(rows[0]!)}`);
            }
          } else if (rows.length === 0) unackedNotStored++;
          else unackedStored++;
        }

        // The client's received stream equals history.
        const stream = c.delivered;
        const mismatch = stream.length !== h.length || stream.some((m, i) => brief(m) !== brief(h[i]!));
        if (mismatch) {
          const i = stream.findIndex((m, j) => h[j] === undefined || brief(m) !== brief(h[j]!));
          problems.push(
            `${c.options.userId}: received stream differs from history (${stream.length} vs ${h.length} messages` +
              (i >= 0 ? `; first difference at #${i}: ${brief(stream[i]!)} vs ${h[i] ? brief(h[i]) : "nothing"})` : ")"),
          );
        }
        problems.push(...c.problems);
      }

      // D1: the same rows, once each.
      const rowsHere = d1.filter((r) => r.room_id === room.id).sort((a, b) => a.seq - b.seq);
      const d1Seqs = new Set(rowsHere.map((r) => r.seq));
      if (d1Seqs.size !== rowsHere.length) problems.push(`room ${room.id}: D1 holds a seq twice`);
      const d1ByClient = new Map<string, number>();
      for (const r of rowsHere) if (r.client_id) d1ByClient.set(r.client_id, (d1ByClient.get(r.client_id) ?? 0) + 1);
      for (const [clientId, n] of d1ByClient) {
        if (n > 1) {
          duplicates += n - 1;
          problems.push(`room ${room.id}: D1 holds ${clientId} ${n} times`);
        }
      }
      if (rowsHere.length !== h.length) problems.push(`room ${room.id}: D1 has ${rowsHere.length} rows, history ${h.length}`);
      for (const m of h) {
        const r = rowsHere.find((x) => x.seq === m.seq);
        if (!r) problems.push(`room ${room.id}: seq ${m.seq} is missing from D1`);
        else if (r.id !== m.id || r.client_id !== m.clientId) problems.push(`room ${room.id}: D1 seq ${m.seq} is ${JSON.stringify(r)}, history ${brief(m)}`);
      }
    }

    return {
      seed: o.seed,
      kills,
      rooms: o.rooms,
      clients: o.rooms * o.clients,
      sent,
      acked,
      stored,
      duplicates,
      lost,
      unackedStored,
      unackedNotStored,
      resends,
      reconnects,
      d1Rows: d1.filter((r) => rooms.some((room) => room.id === r.room_id)).length,
      shardObjects: await shardObjects(persistDir),
      problems,
      persistDir,
    };
  } catch (err) {
    const output = server.output();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- wrangler output (tail) ---\n${output.slice(-3000)}`);
  } finally {
    sending = false;
    for (const t of tickers) clearTimeout(t);
    for (const c of clients) c.close();
    await server.kill();
    if (!o.keep) await rm(persistDir, { recursive: true, force: true });
    scratchDirs.delete(persistDir);
  }
}

/** How many RoomShard objects have storage in the state directory (Miniflare keeps one SQLite file per object, and its own metadata.sqlite). */
async function shardObjects(persistDir: string): Promise<number> {
  const root = join(persistDir, "v3", "do");
  const dirs = (await readdir(root).catch(() => [] as string[])).filter((d) => d.endsWith("-RoomShard"));
  let n = 0;
  for (const dir of dirs) n += (await readdir(join(root, dir))).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite").length;
  return n;
}

export function formatReport(r: ChaosReport): string {
  const lines = [
    `chaos result (seed ${r.seed}): ${r.kills} kills, ${r.rooms} rooms, ${r.clients} clients`,
    `  sent        ${r.sent}`,
    `  acked       ${r.acked}`,
    `  stored      ${r.stored}   (D1 rows: ${r.d1Rows})`,
    `  duplicates  ${r.duplicates}`,
    `  lost        ${r.lost}`,
    `  unacked     ${r.unackedStored + r.unackedNotStored} (stored once: ${r.unackedStored}, not stored: ${r.unackedNotStored})`,
    `  resends     ${r.resends}, reconnects ${r.reconnects}`,
    ...(r.shardObjects > 0 ? [`  shards      ${r.shardObjects} shard objects used`] : []),
    r.problems.length === 0 ? "  OK: no loss, no duplicate, no gap, no mismatch" : `  FAILED: ${r.problems.length} problems`,
    ...r.problems.slice(0, 50).map((p) => `    - ${p}`),
  ];
  if (r.problems.length > 50) lines.push(`    … and ${r.problems.length - 50} more`);
  return lines.join("\n");
}

function parseArgs(argv: string[]): Partial<ChaosOptions> {
  const out: Partial<ChaosOptions> = {};
  const num = (i: number) => {
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${argv[i]} needs a number`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case "--rooms":
        out.rooms = num(i++);
        break;
      case "--clients":
        out.clients = num(i++);
        break;
      case "--duration":
        out.durationS = num(i++);
        break;
      case "--kills":
        out.kills = num(i++);
        break;
      case "--flush-ms":
        out.flushIntervalMs = num(i++);
        break;
      case "--send-ms":
        out.sendEveryMs = num(i++);
        break;
      case "--burst":
        out.burst = num(i++);
        break;
      case "--seed":
        out.seed = num(i++);
        break;
      case "--shards":
        out.shardThreshold = num(i++);
        break;
      case "--keep":
        out.keep = true;
        break;
      case "--help":
      case "-h":
        console.log("npm run chaos -- [--rooms 3] [--clients 4] [--duration 60] [--kills 4] [--flush-ms 200] [--send-ms 1200] [--burst 3] [--seed N] [--shards N] [--keep]");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killStarted();
      for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  }
  runChaos(parseArgs(process.argv.slice(2)))
    .then((report) => {
      console.log(formatReport(report));
      if (report.problems.length > 0) console.log(`state kept for inspection only with --keep; rerun with --seed ${report.seed}`);
      process.exit(report.problems.length === 0 ? 0 : 1);
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(2);
    });
}
