#!/usr/bin/env node
/**
 * Investigation A (issue 13): does one workerd process run all its Durable Objects on one
 * thread? Two objects of one namespace busy-loop at the same time, first in one workerd, then
 * one in each of two workerd processes; the wall time of the pair and the CPU of each process
 * (per thread, from /proc) say whether they ran side by side.
 *
 *   node bench/experiments/threads.mjs [--ms 1500] [--rounds 3]
 *
 * Run it on a quiet box: flock /tmp/quiet.lock flock /tmp/bench.lock node bench/experiments/threads.mjs
 * (bench/results/issue13-threads.txt is one run's output).
 */
import { cliArgs } from "../lib/args.mjs";
import { cpuSeconds } from "../lib/procstat.mjs";
import { freePort } from "../../scripts/ports.mjs";
import { miniflareVersion, sleep, startMiniflare, threadCpu, threadDelta } from "./mf.mjs";

const { option } = cliArgs();
const targetMs = Number(option("ms", "1500"));
const rounds = Number(option("rounds", "3"));

// A tight integer loop, n million rounds: no allocation, no I/O, nothing a helper thread could
// take over. (The inner count stays a small integer: a loop bound above 2^31 runs 10x slower.)
const WORKER = `
import { DurableObject } from "cloudflare:workers";
const spin = (n) => { let x = 1; for (let j = 0; j < n; j++) for (let i = 0; i < 1e6; i++) x = (Math.imul(x, 48271) + i) | 0; return x; };
export class Spin extends DurableObject {
  async fetch(request) { return new Response(String(spin(Number(new URL(request.url).searchParams.get("n"))))); }
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get("n"));
    // /worker: the loop in the stateless Worker itself; otherwise in the object named ?name=.
    if (url.pathname === "/worker") return new Response(String(spin(n)));
    return env.SPIN.get(env.SPIN.idFromName(url.searchParams.get("name") ?? "a")).fetch(request);
  },
};`;

async function instance() {
  const port = await freePort();
  const { mf, pid } = await startMiniflare({
    compatibilityDate: "2026-04-01",
    modules: true,
    script: WORKER,
    durableObjects: { SPIN: { className: "Spin", useSQLite: true } },
    unsafeDirectSockets: [{ host: "127.0.0.1", port }],
  });
  return { mf, pid, base: `http://127.0.0.1:${port}` };
}

const call = async (base, path, n, name) => {
  const res = await fetch(`${base}${path}?n=${n}&name=${name}`);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return res.text();
};

/** Runs the calls at once; returns the wall time and each process's CPU and busiest threads. */
async function measure(label, calls, procs) {
  const t0 = threadsOf(procs);
  const c0 = procs.map((p) => cpuSeconds([p.pid]));
  const w0 = performance.now();
  await Promise.all(calls.map(([p, path, n, name]) => call(p.base, path, n, name)));
  const wall = (performance.now() - w0) / 1000;
  const perProcess = procs.map((p, i) => {
    const cpu = cpuSeconds([p.pid]) - c0[i];
    return { pid: p.pid, cpu: round(cpu), cores: round(cpu / wall), threads: threadDelta(t0[i], threadCpu(p.pid)).slice(0, 3) };
  });
  const cores = round(perProcess.reduce((a, p) => a + p.cpu, 0) / wall);
  console.log(
    `${label.padEnd(44)} wall ${wall.toFixed(2)} s  cores used ${cores}  ` +
      perProcess.map((p) => `[workerd ${p.pid}: ${p.cpu} s CPU = ${p.cores} cores; threads ${p.threads.map((t) => `${t.comm}#${t.tid}:${t.cpu}`).join(" ")}]`).join(" "),
  );
  return { label, wall: round(wall), cores, perProcess };
}

const round = (v) => Math.round(v * 100) / 100;
const threadsOf = (procs) => procs.map((p) => threadCpu(p.pid));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const one = await instance();
const two = await instance();
try {
  console.log(`Miniflare ${miniflareVersion}; workerd ${one.pid} has ${threadCpu(one.pid).size} threads`);
  // Calibrate: loop count for about targetMs in one object.
  // Warm up first (until V8 has optimized the loop, a call is 10x slower), in both processes.
  let n = 20;
  for (let i = 0; i < 10; i++) await Promise.all([call(one.base, "/", n, "cal"), call(two.base, "/", n, "cal"), call(one.base, "/worker", n, "-")]);
  for (let i = 0; i < 3; i++) {
    const w0 = performance.now();
    await call(one.base, "/", n, "cal");
    const ms = performance.now() - w0;
    n = Math.max(1, Math.round((n * targetMs) / ms));
  }
  console.log(`loop of ${n} million rounds ≈ ${targetMs} ms`);
  const results = [];
  for (let r = 1; r <= rounds; r++) {
    await sleep(500);
    results.push(await measure(`${r}: one object`, [[one, "/", n, `a${r}`]], [one]));
    await sleep(500);
    results.push(await measure(`${r}: two objects, one workerd`, [[one, "/", n, `a${r}`], [one, "/", n, `b${r}`]], [one]));
    await sleep(500);
    results.push(await measure(`${r}: two Worker requests (no object), one workerd`, [[one, "/worker", n, "-"], [one, "/worker", n, "-"]], [one]));
    await sleep(500);
    results.push(await measure(`${r}: two objects, two workerd`, [[one, "/", n, `c${r}`], [two, "/", n, `c${r}`]], [one, two]));
  }
  const kinds = ["one object", "two objects, one workerd", "two Worker requests (no object), one workerd", "two objects, two workerd"];
  console.log("\nmedians of the rounds:");
  for (const k of kinds) {
    const xs = results.filter((x) => x.label.endsWith(`: ${k}`));
    console.log(`  ${k.padEnd(46)} wall ${median(xs.map((x) => x.wall)).toFixed(2)} s, ${median(xs.map((x) => x.cores)).toFixed(2)} cores`);
  }
} finally {
  await one.mf.dispose();
  await two.mf.dispose();
}
