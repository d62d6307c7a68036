/** The largeroom section's table, goal lines and chart (issue 13), from results.largeRoom only. */

const num = (v, digits = 1) => {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en");
  if (Math.abs(v) >= 100) return String(Math.round(v));
  return String(Math.round(v * 10 ** digits) / 10 ** digits);
};
const fmtRatio = (r) => (r === null ? "–" : `×${(Math.round(r * 100) / 100).toFixed(2)}`);
const verdict = (s) => (!s.valid ? (s.disturbed ? "discarded: box busy" : "discarded: generator lag") : s.pass ? "pass" : "fail");

const WHAT = {
  ours: "the project as it is (sharding off): its room, one workerd",
  "ours-sharded": "the project with sharding on: the room in workerd A, its shards in two regions, in workerd B1 and B2 (receivers connect to them in turn) or both in B1",
  "socket.io": "one Socket.IO process, rooms and acks",
  "socket.io-cluster": "two Socket.IO processes with @socket.io/redis-adapter on a local redis-server, clients spread over both",
};

/** A target's largest room as a cell: "≥ N" when it passed the largest size tried. */
function largestCell(L, e) {
  if (e.skipped) return "not measured";
  if (e.error) return `error: ${e.error.slice(0, 80)}`;
  const top = Math.max(...L.sizes);
  if (e.largest === null) return `< ${L.sizes[0]}`;
  return `${e.largest >= top ? "≥ " : ""}${e.largest.toLocaleString("en")}`;
}

const partsCell = (parts) =>
  parts ? Object.entries(parts).map(([name, p]) => `${name} ${num(p.cpuPerDeliveryUs, p.cpuPerDeliveryUs < 1 ? 2 : 1)} µs (${Math.round(p.cpuShare * 100)} % core)`).join("; ") : "";

export function largeRoomSection(results) {
  const L = results.largeRoom;
  const out = ["## Large room (issue 13)", ""];
  out.push(
    `${L.rate} messages/s from ${L.senders} senders; receivers grow ${L.sizes.join(" → ")} in one room until a step misses a ` +
      `delivery or has receive p99 > ${L.p99Ms} ms, then one size halfway between the last pass and the failure. ` +
      "CPU per delivery is every process the target runs on (its three workerd processes and their Miniflare hosts for " +
      "ours-sharded; both Socket.IO processes and redis-server for the cluster) over the step, divided by the messages " +
      "delivered to sockets; the split per process is beside it. Cells: p50 / p99 ms and CPU µs per delivery.",
  );
  out.push("");
  for (const e of L.entries) out.push(`- **${e.target}**: ${WHAT[e.target] ?? ""}${e.skipped ? ` — not measured: ${e.skipped}` : ""}.`);
  if (L.about?.shardVars) {
    out.push(
      `- ours-sharded: shard class \`${L.about.shardClass}\`, turned on by ${Object.entries(L.about.shardVars).map(([k, v]) => `\`${k}=${v}\``).join(", ")} ` +
        `over the bench's settings (bench/lib/sharding.mjs), ${L.about.shardProcesses === 1 ? "both regions' shards in one workerd (B1)" : "a workerd per region holding its shards (B1, B2)"}.`,
    );
  }
  out.push("");
  const sizes = [...new Set(L.entries.flatMap((e) => e.steps.map((s) => s.size)))].sort((a, b) => a - b);
  out.push(`| target | largest room | CPU µs/delivery there | per process | ${sizes.join(" | ")} |`);
  out.push(`|---|---:|---:|---|${sizes.map(() => "---").join("|")}|`);
  for (const e of L.entries) {
    const cells = sizes.map((size) => {
      const s = e.steps.find((x) => x.size === size);
      return s ? `${verdict(s)}: ${num(s.latency.p50)} / ${num(s.latency.p99)} ms, ${num(s.cpuPerDeliveryUs)} µs` : "";
    });
    const at = e.atLargest;
    out.push(
      `| ${e.target} | ${largestCell(L, e)}${e.limitedBy ? ` (stopped: ${e.limitedBy})` : ""} | ${at ? `${num(at.cpuPerDeliveryUs)} (${Math.round(at.serverCpuShare * 100)} % core)` : "–"} | ${partsCell(at?.parts)} | ${cells.join(" | ")} |`,
    );
  }
  out.push("");
  return out;
}

export function largeRoomGoalLines(results) {
  const L = results.largeRoom;
  if (!L) return [];
  const of = (t) => L.entries.find((e) => e.target === t);
  const largest = (t) => {
    const e = of(t);
    return !e || e.skipped || e.error ? null : (e.largest ?? 0);
  };
  const lines = [];
  const single = largest("ours");
  const sharded = largest("ours-sharded");
  const cluster = largest("socket.io-cluster");
  const why = (t) => of(t)?.skipped ?? of(t)?.error ?? (of(t) ? null : "not among the targets");
  const goal = L.goals?.shardedOverSingle ?? 1.8;
  const top = Math.max(...L.sizes);
  const atTop = (t, v) => (v !== null && v >= top ? ` (${t} passed the largest size tried)` : "");
  if (sharded === null) {
    lines.push(`ours-sharded serves at least ${goal}× the room ours serves at ${L.rate} msg/s (p99 ≤ ${L.p99Ms} ms): not measured, ${why("ours-sharded")}; ours ${single ?? "–"}.`);
    lines.push(`ours-sharded serves a room at least as large as socket.io-cluster's: not measured, ${why("ours-sharded")}; socket.io-cluster ${cluster ?? why("socket.io-cluster")}.`);
  } else {
    lines.push(
      `ours-sharded serves at least ${goal}× the room ours serves at ${L.rate} msg/s (p99 ≤ ${L.p99Ms} ms): ours-sharded ${sharded}, ours ${single ?? "–"} → ` +
        `${single ? fmtRatio(sharded / single) : "–"}, ${single !== null && sharded >= goal * single ? "met" : "not met"}${atTop("ours-sharded", sharded)}.`,
    );
    lines.push(
      `ours-sharded serves a room at least as large as socket.io-cluster's: ours-sharded ${sharded}, socket.io-cluster ${cluster ?? why("socket.io-cluster")} → ` +
        `${cluster === null ? "not measured" : sharded >= cluster ? "met" : "not met"}${atTop("socket.io-cluster", cluster)}.`,
    );
  }
  return lines;
}

// ---- SVG -------------------------------------------------------------------------------------

const COLORS = { ours: "#e8791d", "ours-sharded": "#b5530a", "socket.io": "#2e9d5b", "socket.io-cluster": "#176b3a" };
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Two bar panels: the largest room per target, and CPU per delivery there. */
export function largeRoomSvg(results) {
  const L = results.largeRoom;
  const W = 900;
  const H = 320;
  const targets = L.entries.map((e) => e.target);
  const panel = (x, title, subtitle, value, label) => {
    const w = W / 2;
    const top = 50;
    const bottom = H - 50;
    const vals = L.entries.map(value).filter((v) => v > 0);
    const max = vals.length ? Math.max(...vals) * 1.15 : 1;
    const bw = Math.min(70, (w - 80) / targets.length - 10);
    const parts = [`<text x="${x + 10}" y="18" class="title">${esc(title)}</text>`, `<text x="${x + 10}" y="34" class="axis">${esc(subtitle)}</text>`];
    L.entries.forEach((e, i) => {
      const bx = x + 50 + i * (bw + 10);
      const v = value(e);
      if (!(v > 0)) {
        parts.push(`<text x="${bx + bw / 2}" y="${bottom - 4}" class="na" text-anchor="middle">${e.skipped ? "not run" : "–"}</text>`);
      } else {
        const h = (v / max) * (bottom - top);
        parts.push(`<rect x="${bx}" y="${bottom - h}" width="${bw}" height="${h}" fill="${COLORS[e.target] ?? "#888"}"/>`);
        parts.push(`<text x="${bx + bw / 2}" y="${bottom - h - 4}" class="value" text-anchor="middle">${esc(label(e, v))}</text>`);
      }
      parts.push(`<text x="${bx + bw / 2}" y="${bottom + 14}" class="axis" text-anchor="middle">${esc(e.target)}</text>`);
    });
    parts.push(`<line x1="${x + 40}" x2="${x + w - 10}" y1="${bottom}" y2="${bottom}" class="base"/>`);
    return parts.join("");
  };
  const top = Math.max(...L.sizes);
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif">
<style>
.title { font-size: 13px; font-weight: 600; fill: #222; }
.axis { font-size: 10px; fill: #555; }
.na { font-size: 10px; fill: #aaa; }
.base { stroke: #888; stroke-width: 1; }
.value { font-size: 10px; fill: #333; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
${panel(0, `Largest room at ${L.rate} messages/s`, `receivers, full delivery and p99 ≤ ${L.p99Ms} ms`, (e) => e.largest ?? 0, (e, v) => `${v >= top ? "≥" : ""}${v}`)}
${panel(W / 2, "CPU per delivery at that size", "µs, every process of the target", (e) => e.atLargest?.cpuPerDeliveryUs ?? 0, (e, v) => num(v))}
<text x="${W - 8}" y="${H - 6}" class="axis" text-anchor="end">${esc(`${results.meta.mode} run ${results.meta.date.slice(0, 16).replace("T", " ")} · commit ${results.meta.commit ?? "?"}`)}</text>
</svg>
`;
}
