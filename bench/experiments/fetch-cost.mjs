#!/usr/bin/env node
/**
 * Issue 9: what does one Upstash call cost workerd's CPU when calls come spread out, as a room's
 * lease draws do, rather than back to back? A Worker makes `fetch` POSTs shaped like an Upstash
 * EVALSHA to a local Node HTTP server that answers at once, first in a tight loop, then 50 ms
 * apart, then the same pauses without a fetch (what the pauses cost alone). Figures: workerd's
 * CPU per call (from /proc), wall time per call, and how many TCP connections the server saw
 * open (0: workerd keeps reusing one).
 *
 *   node bench/experiments/fetch-cost.mjs
 *
 * Run it on a quiet box: flock /tmp/quiet.lock flock /tmp/bench.lock node bench/experiments/fetch-cost.mjs
 * (bench/results/issue9-fetch-cost.txt is one run's output).
 */
import http from "node:http";
import { cpuSeconds } from "../lib/procstat.mjs";
import { miniflareVersion, startMiniflare } from "./mf.mjs";

let connections = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.setHeader("content-type", "application/json");
    res.end('{"result":[999999,1000000]}');
  });
});
server.on("connection", () => connections++);
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}/`;

// `n` calls with `gap` ms between them; `fetch=0` waits the same gaps without calling.
const WORKER = `
export default {
  async fetch(request) {
    const q = new URL(request.url).searchParams;
    const n = Number(q.get("n")), gap = Number(q.get("gap")), call = q.get("fetch") !== "0";
    for (let i = 0; i < n; i++) {
      if (call) {
        const body = JSON.stringify(["EVALSHA", "0123456789abcdef", "2", "edge-chat:sends:k:1", "edge-chat:sends:k:0", "1000000", String(Date.now()), "60000", "1"]);
        const res = await fetch(${JSON.stringify(url)}, { method: "POST", headers: { authorization: "Bearer t", "content-type": "application/json" }, body });
        await res.json();
      }
      if (gap) await new Promise((r) => setTimeout(r, gap));
    }
    return new Response("ok");
  },
};`;

const { mf, pid } = await startMiniflare({ modules: true, script: WORKER });
const run = async (query) => (await mf.dispatchFetch(`http://bench.local/?${query}`)).text();
console.log(`Miniflare ${miniflareVersion}; one Worker calling a local Node HTTP server over fetch`);
await run("n=50&gap=0");
// Enough calls that each case uses a few hundred ms of CPU: /proc counts in 10 ms ticks.
for (const [gap, n, call] of [
  [0, 2000, true],
  [50, 200, true],
  [50, 200, false],
]) {
  const cpu0 = cpuSeconds([pid]);
  const conns0 = connections;
  const t0 = performance.now();
  await run(`n=${n}&gap=${gap}&fetch=${call ? 1 : 0}`);
  const wallMs = (performance.now() - t0) / n - gap;
  const cpuUs = ((cpuSeconds([pid]) - cpu0) * 1e6) / n;
  console.log(
    `${call ? "fetch" : "no fetch"}, ${gap} ms apart, ${n} times: workerd ${Math.round(cpuUs)} µs CPU per call, ` +
      `${wallMs.toFixed(2)} ms wall per call beyond the pause, new connections ${connections - conns0}`,
  );
}
await mf.dispose();
server.close();
