/** latest.md and latest.svg, built from the data in latest.json only. */
import { largeRoomGoalLines, largeRoomSection, largeRoomSvg } from "./report-largeroom.mjs";
import { notifyGoalLines, notifySection } from "./report-notify.mjs";
import { BASELINE, MIX_TARGETS, RATIOS, TARGETS } from "./targets.mjs";

const COLORS = {
  raw: "#8a8a8a",
  "socket.io": "#2e9d5b",
  "do-min": "#3b6fd4",
  "do-sql": "#8b5cc7",
  ours: "#e8791d",
  "ours-before": "#f3c08f",
};

const num = (v, digits = 1) => {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en");
  if (Math.abs(v) >= 100) return String(Math.round(v));
  return String(Math.round(v * 10 ** digits) / 10 ** digits);
};
const ratio = (a, b) => (a === null || a === undefined || !b ? null : a / b);
const fmtRatio = (r) => (r === null ? "–" : `×${r >= 10 ? Math.round(r) : (Math.round(r * 100) / 100).toFixed(2)}`);
const withBase = (figures, target, value, digits) => {
  const base = BASELINE[target];
  const r = base ? ratio(value, figures[base]) : null;
  return r === null ? num(value, digits) : `${num(value, digits)} (${fmtRatio(r)} ${base})`;
};
const kib = (b) => (b === null || b === undefined || b < 0 ? null : b / 1024);

// ---- Figures -------------------------------------------------------------------------------

/** The headline numbers per target, gathered from the sections; the tables and ratios use these. */
export function figures(results) {
  const f = {};
  const put = (key, target, value) => ((f[key] ??= {})[target] = value ?? null);
  for (const e of results.fanout ?? []) {
    put(`fanout ${e.config} max input rate (msg/s)`, e.target, e.maxRate);
    put(`fanout ${e.config} deliveries/s at max`, e.target, e.max?.deliveriesPerSec);
    put(`fanout ${e.config} p50 at ${e.fixedRate} msg/s (ms)`, e.target, e.fixed?.latency.p50);
    put(`fanout ${e.config} p99 at ${e.fixedRate} msg/s (ms)`, e.target, e.fixed?.latency.p99);
    put(`fanout ${e.config} CPU µs/delivery at ${e.fixedRate} msg/s`, e.target, e.fixed?.cpuPerDeliveryUs);
    put(`fanout ${e.config} CPU µs/delivery at max`, e.target, e.max?.cpuPerDeliveryUs);
  }
  for (const e of results.cpu ?? []) put(interleavedKey(e.config, e.rate), e.target, e.median);
  // A target that answered with errors delivered less: its CPU per delivery is no ratio's figure.
  for (const e of results.mix ?? []) put(mixKey(e), e.target, e.partial ? null : e.median);
  for (const e of results.roomSize ?? []) {
    put(`room size: largest room at ${e.rate} msg/s`, e.target, e.largest);
    const at = e.steps.filter((s) => s.valid && s.complete);
    for (const s of at) put(`room size ${s.size}: CPU µs/delivery`, e.target, s.cpuPerDeliveryUs);
  }
  for (const e of results.memory ?? []) {
    for (const p of e.points) {
      put(`memory ${p.sockets} sockets: KiB/socket active`, e.target, kib(p.perConnActive));
      if (p.perConnHibernated !== undefined) put(`memory ${p.sockets} sockets: KiB/socket after idle`, e.target, kib(p.perConnHibernated));
    }
  }
  return f;
}

/**
 * ours / do-min for every fan-out figure of a run: what a later run is checked against
 * (`--compare`), since a change must not make these worse by more than 10 %.
 */
export function fanoutRatios(results) {
  const out = {};
  for (const [key, by] of Object.entries(figures(results))) {
    const r = key.startsWith("fanout ") ? ratio(by.ours, by["do-min"]) : null;
    if (r !== null) out[key] = r;
  }
  return out;
}

const HIGHER_IS_BETTER = /max input rate|deliveries\/s/;

const interleavedKey = (config, rate) => `fanout ${config} CPU µs/delivery at ${rate} msg/s, interleaved median`;
/** Mix figures start with "mix ": the message-CPU goal and the fan-out CPU table leave them out. */
const mixKey = (e) => `mix ${e.config} ${e.mix} at ${e.rate}/s: CPU µs/delivery, interleaved median`;
const isMixKey = (k) => k.startsWith("mix ");

// ---- Markdown ------------------------------------------------------------------------------

export function renderMarkdown(results, svgName) {
  const m = results.meta;
  const f = figures(results);
  const targets = m.targets ?? TARGETS;
  const out = [];
  out.push(`# edge-chat benchmarks (${m.mode} run)`);
  out.push("");
  out.push(
    `${m.date.slice(0, 16).replace("T", " ")} UTC · commit ${m.commit ?? "?"}${m.dirty ? " (+ uncommitted src changes)" : ""} · ` +
      `${m.cores} × ${m.cpu} · ${m.memGiB} GiB · Node ${m.node} · ${m.workerd ?? "workerd"} · took ${Math.round((m.durationS ?? 0) / 60)} min`,
  );
  out.push("");
  // Runs from before the command was recorded have none.
  if (m.command) out.push(`\`${m.command}\``, "");
  out.push(
    "Absolute numbers drift between runs on this shared 2-core box; compare the ratios, which come from the " +
      "same run. The load generator shares the machine, so server CPU per delivered message (from the server " +
      "processes' own /proc accounting) is the fairest figure. Every target speaks the same JSON frames over real " +
      "WebSockets on 127.0.0.1. `(×r base)` after a figure is its ratio to that target's baseline.",
  );
  out.push("");
  out.push(`![latency and throughput per target](${svgName})`);
  out.push("");

  // Ratios.
  const ratios = RATIOS.filter(([a, b]) => targets.includes(a) && targets.includes(b));
  const rows = [];
  for (const [key, byTarget] of Object.entries(f)) {
    const cells = ratios.map(([a, b]) => fmtRatio(ratio(byTarget[a], byTarget[b])));
    if (cells.every((c) => c === "–")) continue;
    rows.push(`| ${key} | ${cells.join(" | ")} |`);
  }
  // A run of one target (e.g. the notify section alone) has no ratio between targets.
  if (rows.length) {
    out.push("## Ratios (same run)");
    out.push("");
    out.push("Higher is better for rates and room sizes; lower is better for latency, CPU and memory.");
    out.push("");
    out.push(`| figure | ${ratios.map(([a, b]) => `${a} / ${b}`).join(" | ")} |`);
    out.push(`|---|${ratios.map(() => "---:").join("|")}|`);
    out.push(...rows, "");
  }

  // Goals.
  const goals = goalLines(results, f);
  if (goals.length) {
    out.push("## Goals");
    out.push("");
    for (const g of goals) out.push(`- ${g}`);
    out.push("");
  }

  if (results.fanout) out.push(...fanoutSection(results, f, targets));
  if (results.roomSize) out.push(...roomSizeSection(results, f));
  if (results.largeRoom) out.push(...largeRoomSection(results));
  if (results.fanout || results.roomSize) out.push(...cpuSection(results, f, targets));
  if (results.cpu) out.push(...interleavedSection(results, targets));
  if (results.mix) out.push(...mixSection(results, targets));
  if (results.limits) out.push(...limitsSection(results));
  if (results.notify) out.push(...notifySection(results));
  if (results.memory) out.push(...memorySection(results, f));
  if (results.history) out.push(...historySection(results));
  if (results.flush) out.push(...flushSection(results));
  out.push(...methodSection(results));
  return out.join("\n") + "\n";
}

function goalLines(results, f) {
  const lines = [];
  // A fixed-rate fan-out point measured interleaved counts once, by its median of rounds.
  const cpuKeys = Object.keys(f).filter(
    (k) => k.includes("CPU µs/delivery") && !k.endsWith("at max") && !f[`${k}, interleaved median`] && !isMixKey(k),
  );
  const cmp = cpuKeys
    .map((k) => ({ k, r: ratio(f[k].ours, f[k]["do-min"]) }))
    .filter((x) => x.r !== null);
  if (cmp.length) {
    const worst = cmp.reduce((a, b) => (b.r > a.r ? b : a));
    const met = cmp.filter((x) => x.r <= 1.25).length;
    lines.push(
      `ours within 25 % of do-min's CPU per delivery: ${met} of ${cmp.length} comparable points ` +
        `(worst ${fmtRatio(worst.r)} at "${worst.k}"; all: ${cmp.map((x) => fmtRatio(x.r)).join(", ")}).`,
    );
  }
  const mixes = (results.mix ?? []).filter((e) => e.target === "ours");
  if (mixes.length) {
    // A partial figure (a target that answered with errors) is no ratio's figure.
    const fig = (e) => (e?.partial ? null : (e?.median ?? null));
    const of = (e, t) => fig(results.mix.find((x) => x.config === e.config && x.mix === e.mix && x.target === t));
    lines.push(
      "reactions and reads, ours' CPU per delivery: " +
        mixes
          .map((e) => `${e.mix} ${e.config} ${fmtRatio(ratio(fig(e), of(e, "do-min")))} do-min, ${fmtRatio(ratio(fig(e), of(e, "do-sql")))} do-sql` + (e.errors ? ` (${e.errors} error frames: not comparable)` : ""))
          .join("; ") +
        ".",
    );
  }
  lines.push(...limitGoalLines(results));
  lines.push(...notifyGoalLines(results));
  lines.push(...largeRoomGoalLines(results));
  const ref = results.reference;
  if (ref && results.fanout) {
    const now = fanoutRatios(results);
    const keys = Object.keys(ref.ratios).filter((k) => now[k] !== undefined);
    // > 1 is worse: a lower rate ratio, or a higher latency or CPU ratio.
    const worse = keys.filter((k) => (HIGHER_IS_BETTER.test(k) ? ref.ratios[k] / now[k] : now[k] / ref.ratios[k]) > 1.1);
    lines.push(
      `fan-out ratios ours / do-min against ${ref.file} (commit ${ref.commit ?? "?"}, ${ref.mode} run): ${keys.length - worse.length} of ${keys.length} ` +
        "no more than 10 % worse" +
        (worse.length ? `; worse: ${worse.map((k) => `"${k}" ${fmtRatio(ref.ratios[k])} → ${fmtRatio(now[k])}`).join(", ")}.` : "."),
    );
  }
  const size = Object.keys(f).find((k) => k.startsWith("room size: largest"));
  if (size) {
    const o = f[size].ours;
    const s = f[size]["socket.io"];
    if (o !== undefined && s !== undefined) {
      const top = results.meta.config.roomSize.sizes.at(-1);
      lines.push(
        `ours serves a room at least as large as Socket.IO's at ${results.meta.config.roomSize.rate} msg/s: ` +
          `ours ${o ?? "< " + results.meta.config.roomSize.sizes[0]}, socket.io ${s ?? "< " + results.meta.config.roomSize.sizes[0]} → ` +
          `${(o ?? 0) >= (s ?? 0) ? "met" : "not met"}${o === top ? ` (ours passed the largest size tried, ${top})` : ""}.`,
      );
    }
  }
  return lines;
}

function latencyCell(step) {
  if (!step) return "–";
  return `${num(step.latency.p50)} / ${num(step.latency.p99)}`;
}

function fanoutSection(results, f, targets) {
  const out = ["## Fan-out", ""];
  out.push(
    "Senders × receivers in one room. Open loop: messages leave on a fixed schedule spread over the senders; " +
      "latency = receive time − scheduled send time at the receivers. The search doubles the input rate from the fixed " +
      "rate until a step misses a delivery or has p99 > 100 ms, then narrows between the last pass and the first failure. " +
      "Every socket in the room (senders too) receives every message: deliveries = messages × (senders + receivers).",
  );
  out.push("");
  const configs = [...new Set(results.fanout.map((e) => e.config))];
  for (const config of configs) {
    const rows = results.fanout.filter((e) => e.config === config);
    const fixed = rows[0]?.fixedRate;
    const key = (s) => `fanout ${config} ${s}`;
    out.push(`### ${config.replace("x", " × ")}`);
    out.push("");
    out.push(
      `| target | max input rate (msg/s) | deliveries/s at max | p50 / p99 at max (ms) | p50 / p99 at ${fixed} msg/s (ms) | server CPU µs/delivery at ${fixed} msg/s | at max | note |`,
    );
    out.push("|---|---:|---:|---:|---:|---:|---:|---|");
    for (const t of targets) {
      const e = rows.find((r) => r.target === t);
      if (!e) continue;
      const note = e.error
        ? `error: ${e.error.slice(0, 120)}`
        : [
            e.limitedBy ? `search stopped: ${e.limitedBy}` : null,
            e.firstFailRate ? `failed at ${e.firstFailRate}/s` : null,
            !e.maxRate && !e.error ? "no passing rate" : null,
          ]
            .filter(Boolean)
            .join("; ");
      out.push(
        `| ${t} | ${withBase(f[key("max input rate (msg/s)")], t, e.maxRate, 0)}${e.limitedBy && e.maxRate ? " ≥" : ""} | ` +
          `${withBase(f[key("deliveries/s at max")], t, e.max?.deliveriesPerSec, 0)} | ${latencyCell(e.max)} | ${latencyCell(e.fixed)} | ` +
          `${withBase(f[key(`CPU µs/delivery at ${fixed} msg/s`)], t, e.fixed?.cpuPerDeliveryUs)} | ${num(e.max?.cpuPerDeliveryUs)} | ${note} |`,
      );
    }
    out.push("");
    out.push("<details><summary>every step</summary>");
    out.push("");
    out.push(
      "| target | msg/s | verdict | delivered | p50 / p99 / max (ms) | ack p99 (ms) | deliveries/s | messages per frame | server µs/delivery | server core | gen lag p99 (ms) | other load (cores) |",
    );
    out.push("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const e of rows) {
      for (const s of e.steps) {
        out.push(
          `| ${e.target} | ${s.rate} | ${verdict(s)} | ${(s.deliveredRatio * 100).toFixed(s.deliveredRatio === 1 ? 0 : 2)}% | ` +
            `${num(s.latency.p50)} / ${num(s.latency.p99)} / ${num(s.latency.max)} | ${num(s.ack.p99)} | ${s.deliveriesPerSec} | ${num(s.msgsPerFrame, 2)} | ` +
            `${num(s.cpuPerDeliveryUs)} | ${Math.round(s.serverCpuShare * 100)}% | ${num(s.sendLag.p99)} | ${num(s.foreignCores, 2)} |`,
        );
      }
    }
    out.push("");
    out.push("</details>");
    out.push("");
  }
  return out;
}

const verdict = (s) => (!s.valid ? (s.disturbed ? "discarded: box busy" : "discarded: generator lag") : s.pass ? "pass" : "fail");

function roomSizeSection(results, f) {
  const out = ["## Room size", ""];
  const rs = { ...results.meta.config.roomSize };
  rs.sizes = [...new Set([...rs.sizes, ...results.roomSize.flatMap((e) => e.steps.map((s) => s.size))])].sort((a, b) => a - b);
  out.push(
    `A steady ${rs.rate} messages/s from ${rs.senders} senders; receivers grow ${results.meta.config.roomSize.sizes.join(" → ")} in one room until a ` +
      "step misses a delivery or has p99 > 100 ms" +
      (results.meta.config.roomSize.refine ? ", then one size halfway between the last pass and the failure" : "") +
      ". Cells: p50 / p99 ms and server CPU µs per delivery.",
  );
  out.push("");
  out.push(`| target | largest room | ${rs.sizes.map((s) => `${s}`).join(" | ")} |`);
  out.push(`|---|---:|${rs.sizes.map(() => "---").join("|")}|`);
  const key = Object.keys(f).find((k) => k.startsWith("room size: largest"));
  for (const e of results.roomSize) {
    const cells = rs.sizes.map((size) => {
      const s = e.steps.find((x) => x.size === size);
      if (!s) return "";
      return `${verdict(s)}: ${num(s.latency.p50)} / ${num(s.latency.p99)} ms, ${num(s.cpuPerDeliveryUs)} µs`;
    });
    const top = rs.sizes.at(-1);
    const largest = e.error
      ? `error: ${e.error.slice(0, 80)}`
      : `${e.largest === top ? "≥ " : ""}${withBase(f[key] ?? {}, e.target, e.largest, 0)}`;
    out.push(`| ${e.target} | ${largest}${e.limitedBy ? ` (stopped: ${e.limitedBy})` : ""} | ${cells.join(" | ")} |`);
  }
  out.push("");
  return out;
}

function cpuSection(results, f, targets) {
  const keys = Object.keys(f).filter((k) => k.includes("CPU µs/delivery") && !isMixKey(k));
  if (keys.length === 0) return [];
  const out = ["## Server CPU per delivered message", ""];
  out.push(
    "User + system CPU of the server processes (workerd for the Durable Object targets, the Node process for raw " +
      "and socket.io) over the step, divided by the messages delivered to sockets. The generator runs in separate processes.",
  );
  out.push("");
  out.push(`| figure (µs) | ${targets.join(" | ")} |`);
  out.push(`|---|${targets.map(() => "---:").join("|")}|`);
  for (const k of keys) out.push(`| ${k.replace(": CPU µs/delivery", "").replace(" CPU µs/delivery", "")} | ${targets.map((t) => withBase(f[k], t, f[k][t])).join(" | ")} |`);
  out.push("");
  return out;
}

function interleavedSection(results, targets) {
  const c = results.meta.config.cpu;
  const out = ["## CPU per delivery, interleaved", ""];
  out.push(
    `Each fan-out at its fixed rate again, with every target's room open at once and the targets taking turns, ` +
      `${c.rounds} round${c.rounds === 1 ? "" : "s"} of ${c.stepMs / 1000} s: a busy spell on the box falls on all of them alike. ` +
      "Cells: the median µs of server CPU per delivery (every round in brackets). The goal line uses these medians " +
      "for these points in place of the single fan-out step.",
  );
  out.push("");
  out.push(`| fan-out at fixed rate | ${targets.join(" | ")} | ours / do-min | ours / do-sql |`);
  out.push(`|---|${targets.map(() => "---:").join("|")}|---:|---:|`);
  const configs = [...new Set(results.cpu.map((e) => `${e.config}@${e.rate}`))];
  for (const cr of configs) {
    const [config, rate] = cr.split("@");
    const of = (t) => results.cpu.find((e) => e.config === config && String(e.rate) === rate && e.target === t);
    const cells = targets.map((t) => {
      const e = of(t);
      if (!e) return "–";
      if (e.error) return "error";
      return `${num(e.median)} (${e.rounds.map((r) => (r.valid && r.complete ? num(r.cpuPerDeliveryUs) : "✗")).join(", ")})`;
    });
    const m = (t) => of(t)?.median ?? null;
    out.push(`| ${config} at ${rate} msg/s | ${cells.join(" | ")} | ${fmtRatio(ratio(m("ours"), m("do-min")))} | ${fmtRatio(ratio(m("ours"), m("do-sql")))} |`);
  }
  out.push("");
  return out;
}

function mixSection(results, allTargets) {
  const c = results.meta.config.mix;
  const out = ["## Reactions and reads", ""];
  const shares = (m) =>
    Object.entries(m)
      .map(([k, v]) => `${Math.round(v * 100)} % ${k}`)
      .join(" / ");
  const mixes = [...new Set(results.mix.map((e) => e.mix))];
  const targets = allTargets.filter((t) => MIX_TARGETS.includes(t));
  const skipped = allTargets.filter((t) => !MIX_TARGETS.includes(t));
  out.push(
    "Senders × receivers: a fifth of the acting sockets send messages, the others react and read (a user's own message " +
      "counts as read, so readers never send). The room is first seeded with messages; reacts turn a user's reaction on one " +
      "of the 5 newest seeded messages on or off in turn, reads move the user's position one message on, so every action " +
      "changes something and is broadcast to every socket. Mixes (open loop, a fixed rate of actions): " +
      mixes.map((m) => `**${m}** ${shares(results.mix.find((e) => e.mix === m).shares ?? {})}`).join(", ") +
      `. Targets interleaved round by round as in the CPU section, ${c.rounds} round${c.rounds === 1 ? "" : "s"} of ${c.stepMs / 1000} s. ` +
      "Cells: the median µs of server CPU per delivered frame (`message`, `updated` and `read` at every socket; every round " +
      "in brackets), then p50 / p99 ms of all deliveries (an `updated` or `read` frame is matched to its action by order)." +
      (skipped.length ? ` Not measured: ${skipped.join(", ")} (their servers do not answer react and read).` : ""),
  );
  out.push("");
  out.push(`| mix | ${targets.join(" | ")} | ours / do-min | ours / do-sql |`);
  out.push(`|---|${targets.map(() => "---:").join("|")}|---:|---:|`);
  const notes = [];
  for (const cr of [...new Set(results.mix.map((e) => `${e.config}@${e.rate}`))]) {
    const [config, rate] = cr.split("@");
    for (const m of mixes) {
      const of = (t) => results.mix.find((e) => e.config === config && String(e.rate) === rate && e.mix === m && e.target === t);
      const cells = targets.map((t) => {
        const e = of(t);
        if (!e) return "–";
        if (e.error) return "error";
        const rounds = e.rounds.map((r) => (r.valid && (r.complete || e.partial) ? num(r.cpuPerDeliveryUs) : "✗")).join(", ");
        return `${num(e.median)}${e.partial ? "*" : ""} (${rounds}); ${num(e.p50)} / ${num(e.p99)} ms`;
      });
      const med = (t) => (of(t)?.partial ? null : (of(t)?.median ?? null));
      out.push(
        `| ${m} ${config.replace("x", " × ")} at ${rate}/s | ${cells.join(" | ")} | ${fmtRatio(ratio(med("ours"), med("do-min")))} | ${fmtRatio(ratio(med("ours"), med("do-sql")))} |`,
      );
      for (const t of targets) {
        const e = of(t);
        if (e?.error) notes.push(`${t}, ${m} ${config}: error: ${e.error.slice(0, 160)}`);
        else if (e?.partial) {
          const delivered = e.rounds.map((r) => `${Math.round(r.deliveredRatio * 100)} %`).join(", ");
          notes.push(`${t}, ${m} ${config}: incomplete (delivered ${delivered}), ${e.errors} error frames ("${e.firstError}"); * = not comparable`);
        } else if (e?.errors) notes.push(`${t}, ${m} ${config}: ${e.errors} error frames ("${e.firstError}")`);
      }
    }
  }
  out.push("");
  if (notes.length) out.push(...notes.map((n) => `- ${n}`), "");
  return out;
}

// ---- Rate limits on the send path ---------------------------------------------------------------

const LIMIT_ON = ["limits-embedded", "limits-upstash"];
/** Each variant with limits on against the same deployment with limits off (scenario-limits.mjs). */
const LIMIT_BASELINE = { "limits-embedded": "limits-off", "limits-upstash": "limits-off-upstash" };
const short = (v) => v.replace("limits-", "");
const plusMs = (d) => (d == null ? "–" : `${d >= 0 ? "+" : "−"}${num(Math.abs(d), 2)} ms`);

/** Per config, each variant with limits on against its baseline: CPU ratio and ack p99 difference. */
function limitComparisons(results) {
  const L = results.limits;
  const out = [];
  for (const cr of [...new Set(L.entries.map((e) => `${e.config}@${e.rate}`))]) {
    const [config, rate] = cr.split("@");
    const of = (v) => L.entries.find((e) => e.config === config && String(e.rate) === rate && e.variant === v);
    for (const v of LIMIT_ON) {
      const on = of(v);
      const off = of(LIMIT_BASELINE[v]);
      if (!on || !off) continue;
      const usable = (e) => !e.error && e.usedRounds > 0;
      const ok = usable(on) && usable(off);
      out.push({
        config,
        rate: Number(rate),
        variant: v,
        error: on.error ?? off.error ?? (ok ? null : "no complete round"),
        noisy: ok && (on.noisy || off.noisy),
        cpuRatio: ok ? ratio(on.cpuMedian, off.cpuMedian) : null,
        cpuWithSideRatio: ok && on.sideCpuMedian !== null ? ratio(on.cpuMedian + on.sideCpuMedian, off.cpuMedian + (off.sideCpuMedian ?? 0)) : null,
        ackP50Plus: ok && on.ack && off.ack ? on.ack.p50 - off.ack.p50 : null,
        ackP99Plus: ok && on.ack && off.ack ? on.ack.p99 - off.ack.p99 : null,
        ackP99OfRoundsPlus: ok && on.ackP99OfRounds != null && off.ackP99OfRounds != null ? on.ackP99OfRounds - off.ackP99OfRounds : null,
        ackFirstP50Plus: ok && on.ackFirst?.p50 != null && off.ackFirst?.p50 != null ? on.ackFirst.p50 - off.ackFirst.p50 : null,
      });
    }
  }
  return out;
}

function limitGoalLines(results) {
  if (!results.limits) return [];
  const g = results.limits.goals;
  const cmp = limitComparisons(results);
  const skipped = Object.entries(results.limits.skipped ?? {}).map(([v, why]) => `${short(v)} not measured: ${why}`);
  const where = (x) => `${short(x.variant)} ${x.config.replace("x", "×")}`;
  const verdict = (xs, pass) => {
    const measured = xs.filter((x) => !x.error);
    if (!measured.length) return "not measured";
    const met = measured.filter(pass).length;
    const noisy = measured.filter((x) => x.noisy).map(where);
    return (
      `${met === measured.length ? "met" : "not met"} (${met} of ${measured.length})` +
      (noisy.length ? ` — indicative only, every round discarded as the box was busy for: ${noisy.join(", ")}` : "")
    );
  };
  const list = (fmt) => {
    const xs = cmp.filter((x) => !x.error);
    return xs.length ? `${xs.map((x) => `${where(x)} ${fmt(x)}`).join(", ")} ` : "";
  };
  const failures = cmp.filter((x) => x.error).map((x) => `${where(x)}: ${x.error.slice(0, 80)}`);
  const tail = [...failures, ...skipped].length ? `; ${[...failures, ...skipped].join("; ")}` : "";
  const sideNote = cmp.some((x) => x.cpuWithSideRatio !== null)
    ? ` Redis's own CPU (redis-server + upstash-redis-server, outside workerd) not counted; with it: ${cmp
        .filter((x) => x.cpuWithSideRatio !== null)
        .map((x) => `${where(x)} ${fmtRatio(x.cpuWithSideRatio)}`)
        .join(", ")}.`
    : "";
  return [
    `rate limit on the send path adds at most ${g.ackP99PlusMs} ms to the ack p99 (limits on − off, same store; ` +
      "a point's p99 is the median of its rounds' own p99s, which a stall of the box in one round does not decide): " +
      list((x) => plusMs(x.ackP99OfRoundsPlus)) +
      `→ ${verdict(cmp, (x) => x.ackP99OfRoundsPlus !== null && x.ackP99OfRoundsPlus <= g.ackP99PlusMs)}${tail}.` +
      ` Pooled over all the rounds' acks the p99 moves by ${list((x) => plusMs(x.ackP99Plus)).trim()}; ` +
      `each sender's first two sends of a round, at p50, by ${list((x) => plusMs(x.ackFirstP50Plus)).trim()}.`,
    `rate limit on the send path adds at most ${Math.round((g.cpuPerDeliveryRatio - 1) * 100)} % to server CPU per delivery (workerd, on / off): ` +
      list((x) => fmtRatio(x.cpuRatio)) +
      `→ ${verdict(cmp, (x) => x.cpuRatio !== null && x.cpuRatio <= g.cpuPerDeliveryRatio)}${tail}.${sideNote}`,
  ];
}

/** "6 s at 100 msg/s, 12 s at 25 msg/s": each rate's round, long enough for the acks a p99 needs. */
function roundLengths(L, c) {
  const steps = [...new Map(L.entries.map((e) => [e.rate, e.stepMs ?? c.stepMs])).entries()];
  const each = steps.map(([rate, ms]) => `${ms / 1000} s at ${rate} msg/s`).join(", ");
  return c.acksPerRound ? `${each} (at least ${c.acksPerRound} acks a round)` : each;
}

/** Where the variants' workerd kept its storage: on this box's disk, flush stalls outweigh the 3 ms compared. */
function storageNote(storage) {
  if (!storage) return "";
  const where = `\`${storage.mount || storage.dir}\` (${storage.filesystem})`;
  return storage.filesystem === "tmpfs"
    ? `Their storage (Durable Objects, D1) was on a tmpfs, ${where}: on this box's disk SQLite's flushes stall the whole workerd for 100–270 ms at random, in every variant alike, and such stalls, not the limit, decided the p99s.`
    : `Their storage (Durable Objects, D1) was at ${where}, not on a tmpfs: disk flush stalls may decide the p99s.`;
}

function limitsSection(results) {
  const L = results.limits;
  const c = results.meta.config.limits;
  const out = ["## Rate limits on the send path", ""];
  const budget = L.variants["limits-embedded"]?.RATE_SENDS ?? "?";
  out.push(
    "The project's own Worker four times in a workerd of its own, the same bundle with different settings: **off** " +
      "(`RATE_SENDS=off`, `RATE_FRAMES=off`: no store call), **embedded** (`RATE_SENDS`/`RATE_FRAMES` " +
      `\`${budget}\`, counted by the Limiter Durable Objects), **off-upstash** (limits off, Upstash configured: ` +
      "the room's trending topics go to Redis, so this is upstash's baseline) and **upstash** (the same budgets, counted by " +
      "`@upstash/ratelimit` over REST against a local redis-server" +
      (L.redis?.version ? ` ${L.redis.version}` : "") +
      " behind upstash-redis-server" +
      (L.skipped?.["limits-upstash"] ? `; not measured in this run: ${L.skipped["limits-upstash"]}` : "") +
      "). Senders × receivers at a fixed rate; every variant's room open at once, the variants " +
      `taking turns, ${c.rounds} round${c.rounds === 1 ? "" : "s"} (the first variant rotating) of ${roundLengths(L, c)}. ` +
      "Cells: server CPU µs per delivery (workerd; median, every round in brackets), the sender's ack latency p50 / p99 ms " +
      "(ack arrival − scheduled send time, all acks of the valid rounds pooled; in brackets the median of the rounds' own p99s, " +
      "which one stalled round does not move: the goal line's figure), the same for each sender's first two sends of a round (p50 / p90: they come " +
      "after the pause of the other variants' turns, where a limit that waits for its store shows), and the receivers' p99 (median of the rounds). " +
      "For the Upstash variants, Redis's own CPU (redis-server + upstash-redis-server, outside workerd) is shown apart and not in the ratios. " +
      storageNote(L.storage),
  );
  out.push("");
  const variants = LIMIT_VARIANTS_ORDER.filter((v) => L.variants[v]);
  out.push(`| senders × receivers | ${variants.map(short).join(" | ")} | ${LIMIT_ON.filter((v) => L.variants[v]).map((v) => `${short(v)} / ${short(LIMIT_BASELINE[v])}: CPU, ack p99`).join(" | ")} |`);
  out.push(`|---|${variants.map(() => "---:").join("|")}|${LIMIT_ON.filter((v) => L.variants[v]).map(() => "---:").join("|")}|`);
  const cmp = limitComparisons(results);
  const notes = [];
  for (const cr of [...new Set(L.entries.map((e) => `${e.config}@${e.rate}`))]) {
    const [config, rate] = cr.split("@");
    const of = (v) => L.entries.find((e) => e.config === config && String(e.rate) === rate && e.variant === v);
    const cells = variants.map((v) => {
      const e = of(v);
      if (!e) return "–";
      if (e.error) return "error";
      const rounds = e.rounds.map((r) => (r.complete && (r.valid || e.noisy) ? num(r.cpuPerDeliveryUs) : "✗")).join(", ");
      const side = e.sideCpu
        ? ` + Redis ${num(e.sideCpuMedian)} (${Object.entries(e.sideCpu).map(([n, v]) => `${n} ${num(v)}`).join(", ")})`
        : "";
      const first = e.ackFirst ? `; first sends ${num(e.ackFirst.p50, 2)} / ${num(e.ackFirst.p90, 2)} ms` : "";
      const ofRounds = e.ackP99OfRounds !== undefined ? ` (${num(e.ackP99OfRounds, 2)})` : "";
      return `${num(e.cpuMedian)}${e.noisy ? "*" : ""} µs (${rounds})${side}; ack ${num(e.ack?.p50, 2)} / ${num(e.ack?.p99, 2)}${ofRounds} ms${first}; p99 ${num(e.p99)} ms`;
    });
    const ratios = LIMIT_ON.filter((v) => L.variants[v]).map((v) => {
      const x = cmp.find((y) => y.config === config && String(y.rate) === rate && y.variant === v);
      return x && !x.error ? `${fmtRatio(x.cpuRatio)}, ${plusMs(x.ackP99OfRoundsPlus)} (pooled ${plusMs(x.ackP99Plus)})` : "–";
    });
    out.push(`| ${config.replace("x", " × ")} at ${rate} msg/s | ${cells.join(" | ")} | ${ratios.join(" | ")} |`);
    for (const v of variants) {
      const e = of(v);
      if (e?.error) notes.push(`${short(v)} ${config}: error: ${e.error.slice(0, 200)}`);
      else if (e?.noisy) notes.push(`${short(v)} ${config}: every round discarded as the box was busy; * = figures from those rounds, indicative only`);
      else if (e && e.usedRounds < e.rounds.length) notes.push(`${short(v)} ${config}: ${e.rounds.length - e.usedRounds} of ${e.rounds.length} rounds discarded (busy box or incomplete)`);
      // Leases make it well under one per send, but never none with limits on: a send always
      // reaches the store first. Limits off, the store runs no limit check at all.
      if (e?.redisScriptsPerSend === 0 && LIMIT_BASELINE[v]) notes.push(`${short(v)} ${config}: Redis ran no script at all (did the store time out?)`);
      else if (e?.redisScriptsPerSend > 1.05) notes.push(`${short(v)} ${config}: Redis ran ${e.redisScriptsPerSend} scripts per send (at most 1 expected)`);
    }
  }
  out.push("");
  for (const [v, why] of Object.entries(L.skipped ?? {})) notes.push(`${short(v)} not measured: ${why}.`);
  const scripts = L.entries.filter((e) => e.redisScriptsPerSend !== null && e.redisScriptsPerSend !== undefined);
  if (scripts.length) {
    notes.push(
      `Redis limit checks per send (EVALSHA: the leases a room draws, up to 16 tokens each, and their give-backs; the topics flushes run as EVAL and are not counted): ${scripts.map((e) => `${short(e.variant)} ${e.config} ${e.redisScriptsPerSend}`).join(", ")}.`,
    );
  }
  if (notes.length) out.push(...notes.map((n) => `- ${n}`), "");
  return out;
}

const LIMIT_VARIANTS_ORDER = ["limits-off", "limits-embedded", "limits-off-upstash", "limits-upstash"];

function memorySection(results, f) {
  const out = ["## Memory per idle connection", ""];
  const mc = results.meta.config.memory;
  out.push(
    `Resident memory of the server process (workerd for the Durable Object targets) with N idle sockets in one room, ` +
      `minus the same server with 10 sockets, divided by N` +
      (mc.freshServers
        ? "; a fresh server per target. "
        : "; measured first, on the servers the other sections then use, with each target's sockets kept open " +
          "until all are measured (the three Durable Object targets share one workerd, so these are rougher than the full run's). ") +
      (mc.hibernateWaitMs
        ? `"after idle" is after ${mc.hibernateWaitMs / 1000} s without traffic (workerd evicts an idle Durable Object after about 10 s and keeps its hibernatable sockets); ` +
          "do-min and do-sql report whether the object really was rebuilt on the next message."
        : "The quick run does not wait for hibernation."),
  );
  out.push("");
  const sizes = [...new Set(results.memory.flatMap((e) => e.points.map((p) => p.sockets)))];
  const head = sizes.flatMap((n) => (mc.hibernateWaitMs ? [`${n}: active`, `${n}: after idle`] : [`${n}: active`]));
  out.push(`| target (KiB per socket) | ${head.join(" | ")} | note |`);
  out.push(`|---|${head.map(() => "---:").join("|")}|---|`);
  for (const e of results.memory) {
    const cells = sizes.flatMap((n) => {
      const p = e.points.find((x) => x.sockets === n);
      const a = withBase(f[`memory ${n} sockets: KiB/socket active`] ?? {}, e.target, kib(p?.perConnActive));
      if (!mc.hibernateWaitMs) return [a];
      const h = p?.perConnHibernated == null ? "n/a" : withBase(f[`memory ${n} sockets: KiB/socket after idle`] ?? {}, e.target, kib(p.perConnHibernated));
      return [a, h];
    });
    const notes = [];
    if (e.error) notes.push(`error: ${e.error.slice(0, 100)}`);
    for (const p of e.points) if (p.wokeUp === false) notes.push(`${p.sockets}: did not hibernate`);
    for (const p of e.points) if (p.wokeUp === true) notes.push(`${p.sockets}: hibernated, woke on the next message`);
    out.push(`| ${e.target} | ${cells.join(" | ")} | ${notes.join("; ")} |`);
  }
  out.push("");
  return out;
}

function historySection(results) {
  const out = ["## History", ""];
  out.push(
    "`GET /api/rooms/:id/messages?limit=50` through the project's Worker (auth, membership, the room) on a room seeded " +
      "with N messages (D1 in batches, the room's own storage holding the newest ones as it would after flushing). " +
      "Newest page, and a page deep in the past (`before` = N/10 + 1). Sequential requests over keep-alive, client-side time.",
  );
  out.push("");
  out.push("| messages in room | seeding | newest page p50 / p99 (ms) | deep page p50 / p99 (ms) | deep page from |");
  out.push("|---:|---:|---:|---:|---|");
  for (const e of results.history) {
    if (e.error) {
      out.push(`| ${e.messages.toLocaleString("en")} | error: ${e.error.slice(0, 120)} | | | |`);
      continue;
    }
    out.push(
      `| ${e.messages.toLocaleString("en")} | ${num(e.seedMs / 1000)} s | ${num(e.newest.p50, 2)} / ${num(e.newest.p99, 2)} | ` +
        `${num(e.deep.p50, 2)} / ${num(e.deep.p99, 2)} | ${e.deepFrom} (before=${e.deepBefore}) |`,
    );
  }
  const ok = results.history.filter((e) => !e.error);
  if (ok.length >= 2) {
    const a = ok[0];
    const b = ok.at(-1);
    out.push("");
    out.push(
      `Size ×${Math.round(b.messages / a.messages).toLocaleString("en")} (${a.messages.toLocaleString("en")} → ${b.messages.toLocaleString("en")}): ` +
        `newest page p50 ${fmtRatio(ratio(b.newest.p50, a.newest.p50))}, deep page p50 ${fmtRatio(ratio(b.deep.p50, a.deep.p50))}.`,
    );
  }
  const missing = (results.meta.config.history.sizes ?? []).length < 3 ? " The quick run stops at 10⁵ messages; 10⁶ is in the full run." : "";
  if (missing) out.push("", missing.trim());
  out.push("");
  return out;
}

function flushSection(results) {
  const out = ["## Flush to D1", ""];
  out.push(
    "Rows already stored in the room (through MessageStore) copied to D1 by the project's Flusher and Archive, " +
      "`batch` rows per flush, one flush after another; wall time around the whole run.",
  );
  out.push("");
  out.push("| batch | rows | flushes | ms per flush | rows/s |");
  out.push("|---:|---:|---:|---:|---:|");
  for (const e of results.flush) {
    if (e.error) out.push(`| ${e.batch} | error: ${e.error.slice(0, 120)} | | | |`);
    else out.push(`| ${e.batch} | ${e.flushed.toLocaleString("en")} | ${e.flushes} | ${num(e.msPerFlush, 2)} | ${e.rowsPerSec.toLocaleString("en")} |`);
  }
  out.push("");
  return out;
}

function methodSection(results) {
  const m = results.meta;
  const L = m.limits;
  return [
    "## How this was measured",
    "",
    "- Targets: **raw** (`ws` broadcast server in Node), **socket.io** (Socket.IO 4, rooms and acks, WebSocket transport), " +
      "**do-min** (a Durable Object: accept, loop over `getWebSockets()`, send), **do-sql** (do-min + one SQLite insert per message" +
      (results.mix ? "; one reactions UPDATE per react, one read-position upsert per read" : "") +
      "), " +
      "**ours** (the project's Worker and Room: JWT, membership, validation, storage before the ack, broadcast through the outbox, D1 flush). " +
      "The three Durable Object targets run in one workerd (Miniflare, as `wrangler dev` uses), each Worker on its own socket.",
    `- Project settings for the bench: ${Object.entries(m.vars)
      .map(([k, v]) => `\`${k}=${v}\``)
      .join(", ")}; everything else as in wrangler.toml.`,
    "- Load: separate Node processes (one for the senders, up to four for receivers), open loop, HDR histograms in µs, " +
      "latency from the scheduled send time on the shared monotonic clock.",
    `- A step is discarded (and retried) when the generator lags (send lag p99 > ${L.sendLagP99Ms} ms, its event loop delay p99 > ${L.genLoopDelayP99Ms} ms ` +
      `or a generator process above ${Math.round(L.genCpuShare * 100)} % of a core) or when processes outside the bench used more than ${L.foreignCores} cores.`,
    `- Pass = every socket got every message of the step (and the sender every ack) and receive p99 ≤ ${L.p99Ms} ms` +
      (results.largeRoom ? ` (${results.largeRoom.p99Ms} ms in the large-room section).` : "."),
    "",
  ];
}

// ---- SVG -----------------------------------------------------------------------------------

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function panel({ x, y, w, h, title, subtitle, groups, targets, log = false, markers = false, labels = false }) {
  const parts = [];
  parts.push(`<text x="${x + 8}" y="${y + 14}" class="title">${esc(title)}</text>`);
  if (subtitle) parts.push(`<text x="${x + 8}" y="${y + 28}" class="axis">${esc(subtitle)}</text>`);
  const top = y + 44;
  const bottom = y + h - 34;
  const left = x + 52;
  const right = x + w - 12;
  const values = groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.marker].filter((v) => v > 0)));
  if (values.length === 0) {
    parts.push(`<text x="${x + w / 2}" y="${y + h / 2}" class="axis" text-anchor="middle">no data</text>`);
    return parts.join("");
  }
  let max;
  let min = 0;
  if (log) {
    min = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...values))));
    max = 10 ** Math.ceil(Math.log10(Math.max(...values) * 1.05));
  } else {
    max = niceMax(Math.max(...values) * 1.08);
  }
  const scale = (v) => {
    if (v <= 0) return bottom;
    if (log) return bottom - ((Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * (bottom - top);
    return bottom - (v / max) * (bottom - top);
  };
  const ticks = log
    ? Array.from({ length: Math.round(Math.log10(max / min)) + 1 }, (_, i) => min * 10 ** i)
    : Array.from({ length: 5 }, (_, i) => (max / 4) * i);
  for (const t of ticks) {
    const ty = scale(t);
    parts.push(`<line x1="${left}" x2="${right}" y1="${ty}" y2="${ty}" class="grid"/>`);
    parts.push(`<text x="${left - 4}" y="${ty + 3}" class="axis" text-anchor="end">${esc(shortNum(t))}</text>`);
  }
  const gw = (right - left) / groups.length;
  groups.forEach((g, gi) => {
    const gx = left + gi * gw;
    const bw = Math.min(28, (gw - 16) / targets.length);
    const start = gx + (gw - bw * targets.length) / 2;
    targets.forEach((t, ti) => {
      const b = g.bars.find((z) => z.target === t);
      const bx = start + ti * bw;
      if (!b || !(b.value > 0)) {
        parts.push(`<text x="${bx + bw / 2}" y="${bottom - 3}" class="na" text-anchor="middle">–</text>`);
        return;
      }
      const by = scale(b.value);
      parts.push(
        `<rect x="${bx + 1}" y="${by}" width="${bw - 2}" height="${Math.max(0.5, bottom - by)}" fill="${COLORS[t]}"><title>${esc(`${t}: ${b.label ?? b.value}`)}</title></rect>`,
      );
      if (markers && b.marker > 0) {
        const my = scale(b.marker);
        parts.push(`<line x1="${bx}" x2="${bx + bw}" y1="${my}" y2="${my}" class="marker"/>`);
      }
      if (labels) parts.push(`<text x="${bx + bw / 2}" y="${by - 3}" class="value" text-anchor="middle">${esc(shortNum(b.value))}</text>`);
    });
    parts.push(`<text x="${gx + gw / 2}" y="${bottom + 14}" class="axis" text-anchor="middle">${esc(g.label)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" class="base"/>`);
  return parts.join("");
}

const shortNum = (v) => {
  const r = (x) => String(Math.round(x * 10) / 10);
  return v >= 1e6 ? `${r(v / 1e6)}M` : v >= 1e4 ? `${Math.round(v / 1e3)}k` : v >= 1e3 ? `${r(v / 1e3)}k` : r(v);
};

export function renderSvg(results) {
  // A largeroom-only run has none of the three panels below: its own chart.
  if (results.largeRoom && !results.fanout && !results.roomSize) return largeRoomSvg(results);
  const targets = results.meta.targets ?? TARGETS;
  const fan = results.fanout ?? [];
  const configs = [...new Set(fan.map((e) => e.config))];
  const W = 1200;
  const H = 360;
  const pw = W / 3;
  const latency = configs.map((c) => ({
    label: `${c.replace("x", "×")} @ ${fan.find((e) => e.config === c)?.fixedRate}/s`,
    bars: fan.filter((e) => e.config === c).map((e) => ({
      target: e.target,
      value: e.fixed?.latency.p99 ?? 0,
      marker: e.fixed?.latency.p50 ?? 0,
      label: e.fixed ? `p50 ${e.fixed.latency.p50} ms, p99 ${e.fixed.latency.p99} ms` : "n/a",
    })),
  }));
  const throughput = configs.map((c) => ({
    label: c.replace("x", "×"),
    bars: fan.filter((e) => e.config === c).map((e) => ({
      target: e.target,
      value: e.max?.deliveriesPerSec ?? 0,
      label: e.max ? `${e.max.deliveriesPerSec} deliveries/s at ${e.maxRate} msg/s (p99 ${e.max.latency.p99} ms)` : "n/a",
    })),
  }));
  const rs = results.roomSize ?? [];
  const sizes = rs.length
    ? [
        {
          label: `${rs[0].senders} senders, ${rs[0].rate} msg/s`,
          bars: rs.map((e) => ({ target: e.target, value: e.largest ?? 0, label: `${e.largest ?? "none"} receivers` })),
        },
      ]
    : [];
  const legend = targets
    .map((t, i) => `<rect x="${20 + i * 120}" y="${H - 16}" width="12" height="12" fill="${COLORS[t]}"/><text x="${36 + i * 120}" y="${H - 6}" class="axis">${esc(t)}</text>`)
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 10}" viewBox="0 0 ${W} ${H + 10}" font-family="system-ui, sans-serif">
<style>
.title { font-size: 13px; font-weight: 600; fill: #222; }
.axis { font-size: 10px; fill: #555; }
.na { font-size: 10px; fill: #aaa; }
.grid { stroke: #e4e4e4; stroke-width: 1; }
.base { stroke: #888; stroke-width: 1; }
.marker { stroke: #111; stroke-width: 2; }
.value { font-size: 9px; fill: #333; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
${panel({ x: 0, y: 0, w: pw, h: H - 20, title: "Fan-out latency at a fixed input rate", subtitle: "ms, log scale; bar = p99, tick = p50", groups: latency, targets, log: true, markers: true })}
${panel({ x: pw, y: 0, w: pw, h: H - 20, title: "Delivered throughput at the max sustained rate", subtitle: "deliveries/s with full delivery and p99 ≤ 100 ms", groups: throughput, targets, labels: true })}
${panel({ x: 2 * pw, y: 0, w: pw, h: H - 20, title: "Largest room at 16 messages/s", subtitle: "receivers served with full delivery and p99 ≤ 100 ms", groups: sizes, targets, labels: true })}
${legend}
<text x="${W - 8}" y="${H - 6}" class="axis" text-anchor="end">${esc(`${results.meta.mode} run ${results.meta.date.slice(0, 16).replace("T", " ")} · commit ${results.meta.commit ?? "?"}`)}</text>
</svg>
`;
}
