#!/usr/bin/env node
/**
 * Investigation B (issue 13): Durable Objects of one namespace in a second workerd process,
 * called from a Durable Object in the first over loopback. Two Miniflare instances (the one
 * wrangler 4.86 pins), each its own workerd, share a dev registry directory:
 *
 *   A  "room-a"   Room (the caller), a local Shard for the baseline, and the binding
 *                 SHARD = { className: "Shard", scriptName: "shard-b" }: a Durable Object of B
 *   B  "shard-b"  Shard: client sockets, deliver(frame); its own Worker entry for clients
 *
 * Part 1: the cost of one call carrying a 2 KB frame, per mechanism (cross-process/room.js):
 * wall time per call from the Room, and workerd CPU of A and of B per call (from /proc), one
 * call at a time and 16 in flight. Part 2: client WebSockets whose upgrade reaches A's Worker
 * and is handed to the Shard in B (through the binding), against clients connected to B's own
 * Worker: does every frame then pass through A? A's CPU per delivered frame says.
 *
 *   node bench/experiments/cross-process.mjs [--n 3000] [--rounds 3] [--clients 200] [--frames 300]
 *
 * On a quiet box: flock /tmp/quiet.lock flock /tmp/bench.lock node bench/experiments/cross-process.mjs
 * (bench/results/issue13-cross-process.txt is one run's output).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { freePort } from "../../scripts/ports.mjs";
import { cliArgs } from "../lib/args.mjs";
import { cpuSeconds } from "../lib/procstat.mjs";
import { miniflareVersion, sleep, startMiniflare } from "./mf.mjs";

const { option } = cliArgs();
const N = Number(option("n", "3000"));
const ROUNDS = Number(option("rounds", "3"));
const CLIENTS = Number(option("clients", "200"));
const FRAMES = Number(option("frames", "300"));
const BYTES = 2048;
const MECHS = ["local-rpc", "registry-rpc", "registry-fetch", "service-rpc", "http-fetch", "ws-link"];

const DIR = fileURLToPath(new URL("./cross-process/", import.meta.url));
const esm = (...files) => ({ modulesRoot: DIR, modules: files.map((f) => ({ type: "ESModule", path: join(DIR, f) })) });
const common = { compatibilityDate: "2026-04-01" };

const registry = mkdtempSync(join(tmpdir(), "edge-chat-dev-registry-"));
const portA = await freePort();
const portB = await freePort();
const B = await startMiniflare({
  ...common,
  name: "shard-b",
  ...esm("shard.js"),
  durableObjects: { SHARD: { className: "Shard", useSQLite: true } },
  unsafeDirectSockets: [{ host: "127.0.0.1", port: portB }],
  unsafeDevRegistryPath: registry,
});
const A = await startMiniflare({
  ...common,
  name: "room-a",
  ...esm("room.js", "shard.js"),
  durableObjects: {
    ROOM: { className: "Room" },
    LOCAL_SHARD: { className: "Shard", useSQLite: true },
    SHARD: { className: "Shard", scriptName: "shard-b" },
  },
  serviceBindings: { SHARD_API: { name: "shard-b", entrypoint: "ShardApi" } },
  bindings: { B_URL: `http://127.0.0.1:${portB}` },
  unsafeDirectSockets: [{ host: "127.0.0.1", port: portA }],
  unsafeDevRegistryPath: registry,
});
const baseA = `http://127.0.0.1:${portA}`;
const baseB = `http://127.0.0.1:${portB}`;

const round1 = (v) => Math.round(v * 10) / 10;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs n calls in A's Room; returns the Room's own figures and each workerd's CPU per call (µs). */
async function run(mech, { n, inflight = 1, shard = "cost", room = "r" }) {
  const a0 = cpuSeconds([A.pid]);
  const b0 = cpuSeconds([B.pid]);
  const res = await fetch(`${baseA}/room/${room}/run?mech=${mech}&shard=${shard}&n=${n}&inflight=${inflight}&bytes=${BYTES}`);
  const body = await res.text();
  if (!res.ok) throw new Error(`${mech}: HTTP ${res.status} ${body.slice(0, 300)}`);
  const r = JSON.parse(body);
  return { ...r, cpuA: ((cpuSeconds([A.pid]) - a0) / n) * 1e6, cpuB: ((cpuSeconds([B.pid]) - b0) / n) * 1e6 };
}

async function part1() {
  console.log(`\nPart 1: one call = one ${BYTES}-byte frame to a Shard with no sockets; ${N} calls per measurement, median of ${ROUNDS} rounds`);
  const rows = Object.fromEntries(MECHS.map((m) => [m, { seq: [], par: [] }]));
  for (const m of MECHS) await run(m, { n: 300, inflight: 4 }); // warm-up (JIT, connections, the link)
  for (let r = 1; r <= ROUNDS; r++) {
    for (const m of MECHS) {
      rows[m].seq.push(await run(m, { n: N }));
      rows[m].par.push(await run(m, { n: N, inflight: 16 }));
    }
  }
  console.log("| mechanism | one at a time: µs per call (wall) | p99 (ms) | CPU µs per call A / B | 16 in flight: calls/s | CPU µs per call A / B |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const m of MECHS) {
    const { seq, par } = rows[m];
    const wall = median(seq.map((x) => (x.ms / x.n) * 1000));
    const p99 = median(seq.map((x) => x.p99));
    const rate = median(par.map((x) => x.n / (x.ms / 1000)));
    const cpu = (xs, k) => round1(median(xs.map((x) => x[k])));
    console.log(
      `| ${m} | ${round1(wall)} | ${p99} | ${cpu(seq, "cpuA")} / ${cpu(seq, "cpuB")} | ${Math.round(rate)} | ${cpu(par, "cpuA")} / ${cpu(par, "cpuB")} |`,
    );
  }
}

/** `count` client sockets at `url`; resolves once each has its welcome. Counts the frames they get. */
async function clients(url, count) {
  const socks = [];
  const state = { frames: 0, outOfOrder: 0 };
  for (let i = 0; i < count; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, async () => {
        const ws = new WebSocket(url);
        socks.push(ws);
        await new Promise((resolve, reject) => {
          ws.once("message", (d) => (String(d).includes('"welcome"') ? resolve() : reject(new Error(`first frame ${d}`))));
          ws.once("error", reject);
        });
        let last = -1;
        ws.on("message", (d) => {
          state.frames++;
          const k = Number(/"k":(\d+)/.exec(String(d))?.[1]);
          if (k <= last && k !== 0) state.outOfOrder++;
          last = k;
        });
      }),
    );
  }
  return { socks, state, close: () => socks.forEach((s) => s.terminate()) };
}

async function part2() {
  console.log(`\nPart 2: ${CLIENTS} client sockets per shard, ${FRAMES} frames of ${BYTES} bytes delivered by A's Room (registry-rpc, one call per frame, 16 calls in flight), median of ${ROUNDS} rounds`);
  const viaA = await clients(`${baseA.replace("http", "ws")}/ws/sa?via=a`, CLIENTS);
  const direct = await clients(`${baseB.replace("http", "ws")}/shard/sb/ws`, CLIENTS);
  // The upgrade that reached A's Worker ended in B's Shard: B's own Worker counts the sockets there.
  const inB = await (await fetch(`${baseB}/shard/sa/count`)).text();
  console.log(`client sockets upgraded at A's Worker and held by the Shard in B: ${inB} of ${CLIENTS} (GET B /shard/sa/count)`);
  const groups = [
    ["through A (upgrade handed to B)", "sa", viaA],
    ["direct to B's Worker", "sb", direct],
  ];
  const rows = Object.fromEntries(groups.map(([label]) => [label, []]));
  for (let r = 1; r <= ROUNDS; r++) {
    for (const [label, shard, group] of groups) {
      const before = group.state.frames;
      const a0 = cpuSeconds([A.pid]);
      const b0 = cpuSeconds([B.pid]);
      await run("registry-rpc", { n: FRAMES, shard, inflight: 16 });
      // Sends are queued: the window ends once every client has every frame.
      const deadline = Date.now() + 15_000;
      while (group.state.frames - before < FRAMES * CLIENTS && Date.now() < deadline) await sleep(10);
      const got = group.state.frames - before;
      rows[label].push({ got, outOfOrder: group.state.outOfOrder, a: ((cpuSeconds([A.pid]) - a0) / got) * 1e6, b: ((cpuSeconds([B.pid]) - b0) / got) * 1e6 });
      await sleep(300);
    }
  }
  console.log("| clients | frames received per round | out of order | A CPU µs per delivered frame | B CPU µs per delivered frame |");
  console.log("|---|---:|---:|---:|---:|");
  for (const [label, xs] of Object.entries(rows)) {
    console.log(
      `| ${label} | ${xs.map((x) => `${Math.round((x.got / (FRAMES * CLIENTS)) * 1000) / 10} %`).join(", ")} | ${xs.at(-1).outOfOrder} | ${round1(median(xs.map((x) => x.a)))} | ${round1(median(xs.map((x) => x.b)))} |`,
    );
  }
  viaA.close();
  direct.close();
}

try {
  console.log(`Miniflare ${miniflareVersion}; workerd A pid ${A.pid}, B pid ${B.pid}; dev registry ${registry}`);
  await part1();
  await part2();
} finally {
  await A.mf.dispose();
  await B.mf.dispose();
  rmSync(registry, { recursive: true, force: true });
}
