/**
 * The rate limit on the send path (issue 9): what `limits.hit("sends", user)` in the room costs
 * the ack and the server. Four variants of the project's own Worker, the same bundle with
 * different vars, in a workerd of their own whose storage is on a tmpfs (lib/paths.mjs says why):
 *
 *   limits-off          RATE_SENDS=off, RATE_FRAMES=off: no store call at all (embedded's baseline)
 *   limits-embedded     the bench's raised budgets, counted by the embedded Limiter objects
 *   limits-off-upstash  limits off, Upstash configured (upstash's baseline: the room's trending
 *                       topics go to Redis too, and that is not the limit's cost)
 *   limits-upstash      the same budgets, counted by @upstash/ratelimit over REST against a local
 *                       redis-server behind upstash-redis-server (lib/redis.mjs); both Upstash
 *                       variants skipped, with a note, where redis-server is not installed
 *
 * Per config (senders × receivers at a fixed rate) every variant's room is open at once and the
 * variants take turns round by round, as in the CPU section (the starting variant rotates each
 * round). Figures: the sender's ack latency (ack arrival − scheduled send time), p50/p99 pooled
 * over the rounds, and server CPU per delivered message (median of the rounds). For the Upstash
 * variant workerd's CPU is what the Worker pays; Redis and its REST front run outside workerd
 * and are reported apart.
 */
import { readFileSync } from "node:fs";
import { merge, summary } from "./gen.mjs";
import { attempt, interleave, median } from "./scenarios.mjs";
import { Session } from "./session.mjs";
import { oursTarget } from "./targets.mjs";
import { RAISED_BUDGET } from "./vars.mjs";

export const LIMIT_VARIANTS = ["limits-off", "limits-embedded", "limits-off-upstash", "limits-upstash"];

/** What each variant with limits on is held against: the same deployment with limits off. */
export const LIMIT_BASELINE = { "limits-embedded": "limits-off", "limits-upstash": "limits-off-upstash" };

const usesUpstash = (name) => name.endsWith("-upstash");

/** The issue's goals: limits on may add at most this to the ack p99 and to CPU per delivery. */
export const LIMIT_GOALS = { ackP99PlusMs: 3, cpuPerDeliveryRatio: 1.1 };

/** A round's length at `rate` msg/s: `stepMs`, or long enough for `acksPerRound` acks. */
export const limitStepMs = (c, rate) => Math.max(c.stepMs, Math.ceil(((c.acksPerRound ?? 0) / rate) * 1000));

const isOff = (v) => String(v ?? "").trim().toLowerCase() === "off";

/**
 * The vars of each variant, over the bench's own (`vars`). The budgets of the variants with
 * limits on are the bench's raised ones (never off, whatever --var says). No Upstash settings
 * reach the off and embedded variants, so they cannot pick up a store by accident.
 */
export function limitVariants(vars, redis) {
  const on = {
    RATE_SENDS: isOff(vars.RATE_SENDS) ? RAISED_BUDGET : (vars.RATE_SENDS ?? RAISED_BUDGET),
    RATE_FRAMES: isOff(vars.RATE_FRAMES) ? RAISED_BUDGET : (vars.RATE_FRAMES ?? RAISED_BUDGET),
  };
  const noUpstash = { UPSTASH_REDIS_REST_URL: "", UPSTASH_REDIS_REST_TOKEN: "" };
  const variants = {
    "limits-off": { RATE_SENDS: "off", RATE_FRAMES: "off", ...noUpstash },
    "limits-embedded": { ...on, ...noUpstash },
  };
  if (redis) {
    const upstash = { UPSTASH_REDIS_REST_URL: redis.url, UPSTASH_REDIS_REST_TOKEN: redis.token };
    variants["limits-off-upstash"] = { RATE_SENDS: "off", RATE_FRAMES: "off", ...upstash };
    variants["limits-upstash"] = { ...on, ...upstash };
  }
  return variants;
}

function variantTarget(ctx, name) {
  const w = ctx.servers.limits;
  const base = w?.urls.variants?.[name];
  if (!base) throw new Error(`the limits workerd was started without the ${name} variant`);
  const target = { ...oursTarget(base, w), name };
  if (usesUpstash(name)) {
    const r = ctx.servers.redis;
    target.side = { "redis-server": [r.redisPid], "upstash-redis-server": [r.restPid] };
  }
  return target;
}

/**
 * One REST send into the room before anything is measured: the variant must be what it says.
 * Off answers without X-RateLimit-* headers; on answers with the budget's count; Upstash also
 * runs exactly one script in Redis for it, and /api/health sees Redis.
 */
async function probe(ctx, target, room, vars) {
  const redis = usesUpstash(target.name) ? ctx.servers.redis : null;
  const [sender] = await target.users("s", 1);
  const calls0 = redis ? await redis.scriptCalls() : null;
  const res = await fetch(`${target.base}/api/rooms/${room}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${sender.token}` },
    body: JSON.stringify({ clientId: `limits-probe-${Date.now().toString(36)}`, text: "limits probe" }),
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error(`${target.name}: probe send: HTTP ${res.status} ${body.slice(0, 200)}`);
  const header = res.headers.get("x-ratelimit-limit");
  const out = { rateLimitHeader: header };
  if (target.name.startsWith("limits-off")) {
    if (header !== null) throw new Error(`${target.name} answered with x-ratelimit-limit ${header}: the budget is not off`);
  } else {
    const want = String(Number.parseInt(vars.RATE_SENDS, 10));
    if (header !== want) throw new Error(`${target.name} answered with x-ratelimit-limit ${header}, expected ${want}`);
  }
  if (redis) {
    out.redisScripts = (await redis.scriptCalls()) - calls0;
    if (target.name === "limits-upstash" && out.redisScripts < 1) throw new Error("limits-upstash: the probe send ran no script in Redis (is the store embedded?)");
    const health = await (await fetch(`${target.base}/api/health`)).json();
    out.health = health.checks?.redis ?? null;
    if (out.health !== "ok") throw new Error(`${target.name}: /api/health says redis: ${out.health}`);
  }
  return out;
}

/** Where the variants' workerd keeps its storage, and whether that is a tmpfs (from /proc/mounts). */
function storageOf(dir) {
  let mount = { point: "", type: "unknown" };
  try {
    for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
      const [, point, type] = line.split(" ");
      if (point && type && (dir === point || dir.startsWith(point.endsWith("/") ? point : `${point}/`)) && point.length >= mount.point.length) {
        mount = { point, type };
      }
    }
  } catch {
    // no /proc/mounts: the type stays unknown
  }
  return { dir, mount: mount.point, filesystem: mount.type };
}

export async function limits(ctx) {
  const { cfg } = ctx;
  const c = cfg.limits;
  const { variants, skipped } = ctx.limitVariants;
  const names = LIMIT_VARIANTS.filter((n) => variants[n]);
  const redis = ctx.servers.redis;
  const out = {
    goals: LIMIT_GOALS,
    variants,
    skipped,
    redis: redis ? { version: redis.version } : null,
    storage: storageOf(ctx.limitVariants.stateDir),
    entries: [],
  };
  for (const [S, R] of c.configs) {
    const key = `${S}x${R}`;
    const rate = c.rates[key];
    const entries = [];
    await interleave(ctx, `limits ${key}`, names, c.rounds, {
      rotate: true,
      async open(name) {
        const target = variantTarget(ctx, name);
        let checked;
        const session = await Session.warm(target, `limits-${key}`, S, R, rate, cfg.warmupMs, async (s) => {
          checked = await probe(ctx, target, s.room, variants[name]);
          await s.step(rate, cfg.warmupMs);
        });
        const entry = { config: key, senders: S, receivers: R, rate, stepMs: limitStepMs(c, rate), variant: name, probe: checked, rounds: [] };
        out.entries.push(entry);
        entries.push(entry);
        return { session, entry };
      },
      async turn({ session, entry }, name, round) {
        const calls0 = usesUpstash(name) ? await redis.scriptCalls() : null;
        const r = await attempt(ctx, session, rate, entry.stepMs, `limits ${key} ${name} round ${round}`, { keepAck: true });
        const scripts = calls0 === null ? null : (await redis.scriptCalls()) - calls0;
        entry.rounds.push({
          round,
          valid: r.valid,
          complete: r.complete,
          cpuPerDeliveryUs: r.cpuPerDeliveryUs,
          sideCpuPerDeliveryUs: r.sideCpuPerDeliveryUs ?? null,
          serverCpuShare: r.serverCpuShare,
          ack: { p50: r.ack.p50, p99: r.ack.p99, max: r.ack.max, count: r.ack.count },
          p50: r.latency.p50,
          p99: r.latency.p99,
          // Every attempt of the step sent `count` messages; with limits on, Redis ran a limit
          // check (EVALSHA) per lease drawn and per give-back.
          redisScriptsPerSend: scripts === null ? null : Math.round((scripts / (r.count * r.attempt)) * 1000) / 1000,
          ackHistogram: r.ackHistogram,
          ackFirstHistogram: r.ackFirstHistogram,
        });
      },
      failed: (error) => entries.forEach((e) => (e.error = error)),
    });
    for (const e of entries) summarize(e);
    for (const e of entries) {
      ctx.log(
        `  limits ${key} ${e.variant}: ${e.error ? `ERROR ${e.error}` : `${e.noisy ? "(busy box) " : ""}${e.cpuMedian ?? "-"} µs/delivery, ack p50 ${e.ack?.p50 ?? "-"} p99 ${e.ack?.p99 ?? "-"} ms` + (e.sideCpu ? `, Redis side ${Object.entries(e.sideCpu).map(([n, v]) => `${n} ${v}`).join(" + ")} µs/delivery` : "")}`,
      );
    }
  }
  return out;
}

/**
 * Medians over the valid, complete rounds; the ack histograms of those rounds pooled. When the
 * box was busy through every round (all discarded), the complete rounds stand in and the figures
 * are marked `noisy`: the variants took turns through the same busy spell, so their comparison
 * still says something, but it is no measurement to hold against the goals.
 */
function summarize(e) {
  const valid = e.rounds.filter((x) => x.valid && x.complete);
  const use = valid.length ? valid : e.rounds.filter((x) => x.complete);
  e.noisy = valid.length === 0 && use.length > 0;
  e.usedRounds = use.length;
  e.cpuMedian = median(use.map((x) => x.cpuPerDeliveryUs).filter((v) => v !== null));
  // Redis's side, per process and in all (outside workerd: not in the ratios).
  const sides = use.map((x) => x.sideCpuPerDeliveryUs).filter(Boolean);
  e.sideCpu = sides.length
    ? Object.fromEntries(Object.keys(sides[0]).map((name) => [name, median(sides.map((s) => s[name]).filter((v) => v !== null))]))
    : null;
  e.sideCpuMedian = sides.length ? median(sides.map((s) => Object.values(s).reduce((a, b) => a + (b ?? 0), 0))) : null;
  e.ack = use.length ? summary(merge(use.map((x) => x.ackHistogram))) : null;
  // Each sender's first two sends of a round come after the pause of the other variants' turns.
  e.ackFirst = use.length ? summary(merge(use.map((x) => x.ackFirstHistogram))) : null;
  // One round with a stall (a busy spell of the box) decides the pooled p99; the median of the
  // rounds' own p99s does not move with one round.
  e.ackP99OfRounds = median(use.map((x) => x.ack.p99).filter((v) => v !== null));
  e.p50 = median(use.map((x) => x.p50).filter((v) => v !== null));
  e.p99 = median(use.map((x) => x.p99).filter((v) => v !== null));
  const scripts = use.map((x) => x.redisScriptsPerSend).filter((v) => v !== null);
  e.redisScriptsPerSend = scripts.length ? median(scripts) : null;
  // The pooled figures stand for them; the histograms would only weigh down the JSON.
  for (const x of e.rounds) {
    delete x.ackHistogram;
    delete x.ackFirstHistogram;
  }
}
