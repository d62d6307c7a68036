/**
 * The measurements. Each takes the run context and returns plain data for latest.json; the
 * report is built from that data alone.
 */
import { GenProcess } from "./gen.mjs";
import { rssBytes } from "./procstat.mjs";
import { startNodeTarget, startWorkerd } from "./servers.mjs";
import { LIMITS, Session } from "./session.mjs";
import { makeTarget, oursTarget } from "./targets.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * One step, retried when the box or the generator spoiled it (the result is then not about
 * the server). A valid step that fails is run once more, so a single stall cannot decide a
 * search on its own; the second result stands.
 */
async function measured(ctx, session, rate, durationMs, label, stepOptions = {}) {
  const r = await attempt(ctx, session, rate, durationMs, label, stepOptions);
  if (!r.valid || r.pass || !ctx.cfg.confirmFailures) return r;
  const again = await attempt(ctx, session, rate, durationMs, `${label} (again)`, stepOptions);
  again.firstTry = { pass: r.pass, latency: r.latency, deliveredRatio: r.deliveredRatio };
  return again.valid ? again : r;
}

export async function attempt(ctx, session, rate, durationMs, label, stepOptions = {}) {
  let r;
  for (let attempt = 1; attempt <= ctx.cfg.retries + 1; attempt++) {
    const busy = await Session.quiet(attempt === 1 ? ctx.cfg.quietFirstMs : ctx.cfg.quietWaitMs);
    if (busy > LIMITS.foreignCores * 0.7) ctx.progressNote(`other jobs use ${busy.toFixed(2)} cores; measuring anyway`);
    r = await session.step(rate, durationMs, stepOptions);
    const settled = await session.settle();
    r.settled = settled;
    r.attempt = attempt;
    ctx.logStep(label, r);
    if (r.valid) break;
    // A step that overloaded the generator will do so again; retry once at most.
    if (r.genLimited && !r.disturbed && attempt >= 2) break;
  }
  return r;
}

// ---- Fan-out -------------------------------------------------------------------------------

export async function fanout(ctx) {
  const { cfg } = ctx;
  const out = [];
  for (const [S, R] of cfg.fanout.configs) {
    const key = `${S}x${R}`;
    const fixedRate = cfg.fanout.fixedRates[key];
    for (const name of ctx.targets) {
      const target = ctx.target(name);
      const label = `fan-out ${key} ${name}`;
      const entry = { config: key, senders: S, receivers: R, target: name, fixedRate, steps: [] };
      out.push(entry);
      let session;
      try {
        session = await Session.warm(target, `fan-${key}`, S, R, fixedRate, cfg.warmupMs);
        const run = async (rate) => {
          const r = await measured(ctx, session, rate, cfg.fanout.stepMs, label);
          entry.steps.push(r);
          return r;
        };
        let rate = fixedRate;
        let lo = null;
        let hi = null;
        for (let i = 0; i < cfg.fanout.maxSteps; i++) {
          const r = await run(rate);
          if (!r.valid) {
            entry.limitedBy = r.disturbed ? "other load on the machine" : "load generator";
            break;
          }
          if (!r.pass) {
            hi = r;
            break;
          }
          lo = r;
          rate = Math.round(rate * cfg.fanout.factor);
          if (rate > cfg.fanout.maxRate) {
            entry.limitedBy = `bench cap (${cfg.fanout.maxRate}/s)`;
            break;
          }
        }
        if (lo && !hi && !entry.limitedBy) entry.limitedBy = `no failure within ${cfg.fanout.maxSteps} steps`;
        for (let i = 0; i < cfg.fanout.bisect && lo && hi && hi.rate / lo.rate > 1.15; i++) {
          const mid = Math.round(Math.sqrt(lo.rate * hi.rate));
          const r = await run(mid);
          if (!r.valid) break;
          if (r.pass) lo = r;
          else hi = r;
        }
        entry.fixed = entry.steps.find((s) => s.rate === fixedRate && s.valid) ?? null;
        entry.max = lo;
        entry.maxRate = lo?.rate ?? null;
        entry.firstFailRate = hi?.rate ?? null;
        if (!lo && !hi && !entry.limitedBy) entry.limitedBy = "no valid step";
      } catch (err) {
        entry.error = String(err?.message ?? err);
        ctx.log(`  ${label}: ERROR ${entry.error}`);
      } finally {
        await session?.close();
      }
    }
  }
  return out;
}

// ---- CPU per delivery, interleaved ------------------------------------------------------------

/**
 * CPU per delivery at each fan-out's fixed rate, with every target's room open at once and the
 * targets taking turns round by round: a busy or quiet spell on this shared box then falls on
 * all of them alike, and the median of the rounds is the figure. (A single fan-out step at a
 * low rate moves by ±30 % from run to run.)
 */
export async function cpuInterleaved(ctx) {
  const { cfg } = ctx;
  const out = [];
  for (const [S, R] of cfg.cpu.configs) {
    const key = `${S}x${R}`;
    const rate = cfg.fanout.fixedRates[key];
    const targets = ctx.targets.filter((t) => !cfg.cpu.targets || cfg.cpu.targets.includes(t));
    const entries = [];
    await interleave(ctx, `cpu ${key}`, targets, cfg.cpu.rounds, {
      async open(name) {
        const session = await Session.warm(ctx.target(name), `cpu-${key}`, S, R, rate, cfg.warmupMs);
        const entry = { config: key, rate, target: name, rounds: [], median: null };
        out.push(entry);
        entries.push(entry);
        return { session, entry };
      },
      async turn({ session, entry }, name, round) {
        const r = await attempt(ctx, session, rate, cfg.cpu.stepMs, `cpu ${key} ${name} round ${round}`);
        entry.rounds.push({ cpuPerDeliveryUs: r.cpuPerDeliveryUs, valid: r.valid, complete: r.complete, p99: r.latency.p99 });
      },
      failed: (error) => entries.forEach((e) => (e.error = error)),
    });
    for (const entry of entries) entry.median = median(entry.rounds.filter((x) => x.valid && x.complete).map((x) => x.cpuPerDeliveryUs));
  }
  return out;
}

/** The median (the upper one of an even count), or null. */
export const median = (values) => (values.length ? [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] : null);

/**
 * Every target's room open at once, the targets taking turns round by round (each `turns`
 * entry once per target per round): a busy or quiet spell on this shared box then falls on
 * all of them alike. `open(name)` returns { session, ... }, handed to every turn. An error
 * ends the whole comparison (a ratio needs every target) and is passed to `failed`. With
 * `rotate`, each round starts one target further on, so no target always goes first. `ready`
 * runs once every target is open, before the first round.
 */
export async function interleave(ctx, label, targets, rounds, { open, turn, turns = [turn], failed, rotate = false, ready }) {
  const opened = [];
  try {
    for (const name of targets) opened.push({ name, state: await open(name) });
    await ready?.();
    for (let round = 1; round <= rounds; round++) {
      const shift = rotate ? (round - 1) % opened.length : 0;
      const order = [...opened.slice(shift), ...opened.slice(0, shift)];
      for (const each of turns) for (const { name, state } of order) await each(state, name, round);
    }
  } catch (err) {
    const error = String(err?.message ?? err);
    ctx.log(`  ${label}: ERROR ${error}`);
    failed(error);
  } finally {
    for (const { state } of opened) await state.session.close();
  }
}

// ---- Room size -----------------------------------------------------------------------------

/**
 * The largest room each target serves at a fixed rate: receivers grow through `sizes` until a
 * step fails, then one size halfway (with `refine`). `options` (the largeroom section): its own
 * `config` ({ rate, senders, sizes, stepMs, refine }), `targets`, the p99 bound `p99Ms`, a `label`,
 * and `skipped` ({ target: why }) for targets that cannot run here (an entry with that note).
 */
export async function roomSize(ctx, { config = ctx.cfg.roomSize, targets = ctx.targets, p99Ms, label = "room size", skipped = {} } = {}) {
  const { cfg } = ctx;
  const { rate, senders, sizes, stepMs } = config;
  const stepOptions = p99Ms === undefined ? {} : { p99Ms };
  const out = [];
  for (const name of targets) {
    const entry = { target: name, rate, senders, steps: [], largest: null };
    out.push(entry);
    if (skipped[name]) {
      entry.skipped = skipped[name];
      ctx.log(`  ${label} ${name}: skipped (${skipped[name]})`);
      continue;
    }
    let session;
    try {
      const target = ctx.target(name);
      session = await Session.warm(target, "size", senders, sizes[0], rate, cfg.warmupMs);
      const grow = async (size) => {
        if (size > session.receiverCount) {
          const c = await session.addReceivers(size - session.receiverCount);
          ctx.log(`  ${label} ${name}: ${size} receivers connected (${(c.ms / 1000).toFixed(1)} s)`);
          await session.settle();
        } else if (size < session.receiverCount) {
          await session.removeReceivers(session.receiverCount - size);
          await sleep(1000); // let the room see the sockets go
          await session.settle();
        }
        if (session.receiverCount !== size) throw new Error(`room has ${session.receiverCount} receivers, wanted ${size}`);
        const r = await measured(ctx, session, rate, stepMs, `${label} ${name} R=${size}`, stepOptions);
        r.size = size;
        entry.steps.push(r);
        return r;
      };
      let failedAt = null;
      for (const size of sizes) {
        const r = await grow(size);
        if (!r.valid) {
          entry.limitedBy = r.disturbed ? "other load on the machine" : "load generator";
          break;
        }
        if (!r.pass) {
          failedAt = size;
          break;
        }
        entry.largest = size;
      }
      // Between the largest pass and the first failure, one more size (e.g. 2400 for 1600 → 3200).
      if (config.refine && entry.largest && failedAt && failedAt - entry.largest >= 200) {
        const mid = Math.round((entry.largest + failedAt) / 2 / 100) * 100;
        const r = await grow(mid);
        if (r.valid && r.pass) entry.largest = mid;
      }
    } catch (err) {
      entry.error = String(err?.message ?? err);
      ctx.log(`  ${label} ${name}: ERROR ${entry.error}`);
    } finally {
      await session?.close();
    }
  }
  return out;
}

// ---- Memory --------------------------------------------------------------------------------

async function connectIdle(gen, target, room, users, count) {
  const res = await gen.call("connect", { target: target.name, base: target.base, room, users, count, concurrency: 48 });
  if (res.connected !== count) throw new Error(`${res.failed} of ${count} idle sockets failed (${res.firstError})`);
  return res;
}

/** RSS once it stops moving (and after a GC where the server lets us ask for one). */
async function settledRss(target, waitMs) {
  await sleep(waitMs);
  await target.server.gc();
  await sleep(300);
  return rssBytes(target.rssPids);
}

async function doStats(target) {
  if (target.name !== "do-min" && target.name !== "do-sql") return null;
  const res = await fetch(`${target.base}/stats`);
  return (await res.json()).constructed;
}

/** Sends one message and waits until every socket has it; says whether the room had to wake up. */
async function poke(gens, target) {
  const before = await doStats(target);
  const tag = `poke${Date.now().toString(36)}`;
  await Promise.all(gens.map((g) => g.call("arm", { tag })));
  const startUs = nowUs() + 20_000;
  await gens[0].call("send", { tag, rate: 1, count: 1, startUs });
  const res = await Promise.all(gens.map((g) => g.call("collect", { expected: 1, deadlineUs: startUs + 20_000_000 })));
  const after = await doStats(target);
  return { delivered: res.every((r) => r.minPerSocket === 1), woke: before === null ? null : after > before };
}

export async function memory(ctx) {
  const { cfg } = ctx;
  const out = [];
  // With shared servers, earlier targets' sockets stay open until the end, so memory freed by
  // one target cannot be reused by the next and hide its growth.
  const keep = [];
  for (const name of ctx.targets) {
    const entry = { target: name, points: [] };
    out.push(entry);
    let fresh = null;
    const gens = [];
    try {
      // A fresh server per target, so one target's freed memory cannot hide another's growth.
      let target;
      if (cfg.memory.freshServers) {
        fresh = name === "raw" || name === "socket.io" ? await startNodeTarget(name) : await startWorkerd(ctx.stateDir, ctx.vars);
        target = makeTarget(name, { [name]: fresh, workerd: fresh });
      } else {
        target = ctx.target(name);
      }
      const room = await target.prepareRoom("mem", 1);
      const users = await target.users("r", 10);
      const gen = new GenProcess(`${name}:idle`);
      gens.push(gen);
      await connectIdle(gen, target, room, users, 10);
      const base = await settledRss(target, cfg.memory.settleMs);
      entry.baseRss = base;
      let have = 0;
      for (const n of cfg.memory.sizes) {
        const c = await connectIdle(gen, target, room, users, n - have);
        have = n;
        const active = await settledRss(target, cfg.memory.settleMs);
        // RSS that did not grow means memory freed earlier was reused: no figure, not a negative one.
        const perConn = (rss) => (rss > base ? Math.round((rss - base) / n) : null);
        const point = {
          sockets: n,
          connectMs: Math.round(c.ms),
          rssActive: active,
          perConnActive: perConn(active),
        };
        if (target.server.kind === "workerd" && cfg.memory.hibernateWaitMs > 0) {
          const hib = await settledRss(target, cfg.memory.hibernateWaitMs);
          point.rssHibernated = hib;
          point.perConnHibernated = perConn(hib);
          const p = await poke([gen], target);
          point.wokeUp = p.woke; // null where the target cannot tell (ours)
          point.deliveredAfterWake = p.delivered;
        }
        entry.points.push(point);
        const kib = (v) => (v === null ? "n/a (RSS did not grow)" : `${(v / 1024).toFixed(1)} KiB/socket`);
        ctx.log(
          `  memory ${name} ${n} sockets: ${kib(point.perConnActive)} active` +
            (point.perConnHibernated !== undefined
              ? `, ${kib(point.perConnHibernated)} after ${cfg.memory.hibernateWaitMs / 1000} s idle` +
                (point.wokeUp === null ? "" : point.wokeUp ? " (room had hibernated)" : " (room had NOT hibernated)")
              : ""),
        );
      }
    } catch (err) {
      entry.error = String(err?.message ?? err);
      ctx.log(`  memory ${name}: ERROR ${entry.error}`);
    } finally {
      if (cfg.memory.freshServers) {
        await Promise.all(gens.map((g) => g.call("closeAll").catch(() => {})));
        await Promise.all(gens.map((g) => g.stop()));
        await fresh?.stop();
      } else {
        keep.push(...gens);
      }
    }
  }
  await Promise.all(keep.map((g) => g.call("closeAll").catch(() => {})));
  await Promise.all(keep.map((g) => g.stop()));
  return out;
}

// ---- History -------------------------------------------------------------------------------

async function post(url) {
  // undici's "fetch failed" says nothing of why; its cause does (a reset, a refused connection).
  const res = await fetch(url, { method: "POST" }).catch((err) => {
    const error = new Error(`POST ${url}: ${err?.message ?? err}${err?.cause ? ` (${err.cause.code ?? ""} ${err.cause.message ?? err.cause})` : ""}`);
    error.connectionLost = true;
    throw error;
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`POST ${url}: HTTP ${res.status} ${body.slice(0, 400)}`);
  return JSON.parse(body);
}

async function timeGets(url, token, n) {
  const times = [];
  let last = null;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.json();
    times.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    last = body;
  }
  times.sort((a, b) => a - b);
  const q = (p) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] * 100) / 100;
  return { n, p50: q(0.5), p99: q(0.99), mean: Math.round((times.reduce((a, b) => a + b, 0) / n) * 100) / 100, last };
}

export async function history(ctx) {
  const { cfg } = ctx;
  const w = ctx.servers.workerd;
  const seed = oursTarget(w.urls.seed, w);
  const out = [];
  const keep = Number(ctx.vars.RETAIN_LOCAL_MESSAGES ?? 1000);
  for (const size of cfg.history.sizes) {
    const entry = { messages: size };
    out.push(entry);
    try {
      const room = await seed.prepareRoom(`hist-${size}`, 1);
      const [user] = await seed.users("s", 1);
      const t0 = Date.now();
      const batch = cfg.history.seedBatch;
      for (let from = 1; from <= size; from += batch) {
        const to = Math.min(size, from + batch - 1);
        await post(`${w.urls.seed}/__bench/seed-d1?room=${room}&from=${from}&to=${to}`);
        if (size >= 100_000) ctx.progressNote(`seeding ${size.toLocaleString("en")} messages: ${to.toLocaleString("en")}`);
      }
      await post(`${w.urls.seed}/__bench/seed-room?room=${room}&total=${size}&keep=${keep}`);
      entry.seedMs = Date.now() - t0;
      const base = `${w.urls.seed}/api/rooms/${room}/messages?limit=50`;
      await timeGets(base, user.token, 5); // warm-up
      const newest = await timeGets(base, user.token, cfg.history.requests);
      const lastSeq = newest.last.messages.at(-1)?.seq;
      if (lastSeq !== size) throw new Error(`newest page ends at seq ${lastSeq}, expected ${size}`);
      const deepBefore = Math.ceil(size / 10) + 1;
      const deep = await timeGets(`${base}&before=${deepBefore}`, user.token, cfg.history.requests);
      const deepSeqs = deep.last.messages.map((m) => m.seq);
      if (deepSeqs.length !== 50 || deepSeqs.at(-1) !== deepBefore - 1) {
        throw new Error(`deep page returned seqs ${deepSeqs[0]}..${deepSeqs.at(-1)}, expected ${deepBefore - 50}..${deepBefore - 1}`);
      }
      delete newest.last;
      delete deep.last;
      Object.assign(entry, { newest, deep, deepBefore, deepFrom: deepBefore <= size - keep ? "D1" : "room storage" });
      ctx.log(
        `  history ${size.toLocaleString("en")}: seeded in ${(entry.seedMs / 1000).toFixed(1)} s; newest page p50 ${newest.p50} ms p99 ${newest.p99} ms; ` +
          `page before ${deepBefore} (${entry.deepFrom}) p50 ${deep.p50} ms p99 ${deep.p99} ms`,
      );
    } catch (err) {
      entry.error = String(err?.message ?? err);
      ctx.log(`  history ${size}: ERROR ${entry.error}`);
    }
  }
  return out;
}

// ---- Flush ---------------------------------------------------------------------------------

export async function flush(ctx) {
  const { cfg } = ctx;
  const out = [];
  for (const batch of cfg.flush.batches) {
    const rows = cfg.flush.rows[batch];
    const entry = { batch, rows };
    out.push(entry);
    // A connection workerd dropped (seen once in a while in CI, right after the test suite's
    // disk writes) is tried once more in a fresh room, and noted; an HTTP error, which a
    // schema out of step with the seeding routes gives, is not.
    for (let attempt = 1; attempt <= 2; attempt++) {
      delete entry.error;
      const done = await flushStep(ctx, entry, batch, rows, attempt);
      if (done !== "connection lost" || attempt === 2) break;
      entry.retriedAfter = entry.error;
      ctx.log(`  flush batch ${batch}: connection lost, once more in a fresh room (${entry.error})`);
    }
  }
  return out;
}

/** One flush measurement into `entry`: "done", "failed", or "connection lost" (may be tried again). */
async function flushStep(ctx, entry, batch, rows, attempt) {
  const w = ctx.servers.workerd;
  const seed = oursTarget(w.urls.seed, w);
  try {
    const room = await seed.prepareRoom(attempt === 1 ? `flush-${batch}` : `flush-${batch}-again`, 1);
    await post(`${w.urls.seed}/__bench/flush-prepare?room=${room}&rows=${Math.min(rows, batch * 2)}`);
    await post(`${w.urls.seed}/__bench/flush-run?room=${room}&batch=${batch}`); // warm-up
    const prepared = await post(`${w.urls.seed}/__bench/flush-prepare?room=${room}&rows=${rows}`);
    const t0 = performance.now();
    const r = await post(`${w.urls.seed}/__bench/flush-run?room=${room}&batch=${batch}`);
    const wallMs = performance.now() - t0;
    if (r.rows !== prepared.dirty) throw new Error(`flushed ${r.rows} rows, ${prepared.dirty} were dirty`);
    Object.assign(entry, {
      flushed: r.rows,
      flushes: r.flushes,
      ms: Math.round(wallMs),
      rowsPerSec: Math.round(r.rows / (wallMs / 1000)),
      msPerFlush: Math.round((wallMs / r.flushes) * 100) / 100,
    });
    ctx.log(`  flush batch ${batch}: ${r.rows} rows in ${r.flushes} flushes, ${Math.round(wallMs)} ms → ${entry.rowsPerSec} rows/s`);
    return "done";
  } catch (err) {
    // undici's own "fetch failed" (from preparing the room's users and room) is a lost connection too.
    const lost = err?.connectionLost || (err instanceof TypeError && err.message === "fetch failed");
    entry.error = String(err?.message ?? err) + (err?.cause && !err.connectionLost ? ` (${err.cause.code ?? ""} ${err.cause.message ?? err.cause})` : "");
    if (lost && attempt === 1) return "connection lost";
    ctx.log(`  flush batch ${batch}: ERROR ${entry.error}`);
    return "failed";
  }
}
