/**
 * Reactions and read receipts: per config, a seeded room per target, then each mix of
 * lib/mix.mjs (mostly reacts, or mostly reads, the rest sends) at one fixed rate, targets
 * interleaved round by round as in the CPU section. The figure is server CPU per delivered
 * frame (`message`, `updated` and `read` at every socket), median of the rounds.
 */
import { MIXES, SEED, seedsNeeded, writerCount } from "./mix.mjs";
import { attempt, interleave, median } from "./scenarios.mjs";
import { Session } from "./session.mjs";
import { MIX_TARGETS } from "./targets.mjs";
/** Seeded messages that reactions rotate over. */
const REACTED_MESSAGES = 5;

export async function mix(ctx) {
  const { cfg } = ctx;
  const c = cfg.mix;
  const out = [];
  const targets = ctx.targets.filter((t) => MIX_TARGETS.includes(t));
  for (const [S, R] of c.configs) {
    const key = `${S}x${R}`;
    const rate = c.rates[key];
    const writers = writerCount(S);
    const seeds = seedsNeeded({ rate, actors: S, warmupMs: cfg.warmupMs, stepMs: c.stepMs, rounds: c.rounds, minimum: REACTED_MESSAGES });
    const entries = [];
    const measure = (mixName) => async ({ session, messages, byMix }, name, round) => {
      const r = await attempt(ctx, session, rate, c.stepMs, `mix ${key} ${mixName} ${name} round ${round}`, {
        mix: { shares: MIXES[mixName], writers, messages },
      });
      byMix[mixName].rounds.push(roundOf(r));
    };
    await interleave(ctx, `mix ${key}`, targets, c.rounds, {
      async open(name) {
        let messages;
        const session = await Session.warm(ctx.target(name), `mix-${key}`, S, R, rate, cfg.warmupMs, async (s) => {
          messages = await seed(s, seeds, c.seedRate, writers);
          for (const shares of Object.values(MIXES)) await s.step(rate, cfg.warmupMs, { mix: { shares, writers, messages } });
        });
        const byMix = {};
        for (const mixName of Object.keys(MIXES)) {
          byMix[mixName] = { config: key, senders: S, receivers: R, writers, seeds, rate, mix: mixName, shares: MIXES[mixName], target: name, rounds: [] };
          out.push(byMix[mixName]);
          entries.push(byMix[mixName]);
        }
        return { session, messages, byMix };
      },
      turns: Object.keys(MIXES).map(measure),
      failed: (error) => entries.forEach((e) => (e.error = error)),
    });
    for (const e of entries) summarize(e);
  }
  return out;
}

/** Sends `count` messages from the writers and returns the ids of the newest few. */
async function seed(session, count, seedRate, writers) {
  const r = await session.step(seedRate, (count / seedRate) * 1000, { mix: { shares: SEED, writers, messages: [] } });
  if (r.acks !== count) throw new Error(`seeding: ${r.acks} of ${count} messages acked${r.firstError ? ` (${r.firstError})` : ""}`);
  await session.settle();
  return session.recentMessageIds(REACTED_MESSAGES);
}

const roundOf = (r) => ({
  cpuPerDeliveryUs: r.cpuPerDeliveryUs,
  valid: r.valid,
  complete: r.complete,
  deliveredRatio: r.deliveredRatio,
  p50: r.latency.p50,
  p99: r.latency.p99,
  msgsPerFrame: r.msgsPerFrame,
  errors: r.errors,
  firstError: r.firstError,
  unmatched: r.unmatched,
});

/**
 * Medians over the valid, complete rounds. A target that answered with errors (ours before
 * it handles react/read) has no complete round: its figures then come from the valid rounds
 * and are marked `partial`, since its CPU is spread over fewer deliveries.
 */
function summarize(e) {
  const complete = e.rounds.filter((x) => x.valid && x.complete);
  const use = complete.length ? complete : e.rounds.filter((x) => x.valid);
  e.partial = complete.length === 0 && use.length > 0;
  e.median = median(use.map((x) => x.cpuPerDeliveryUs).filter((v) => v !== null));
  e.p50 = median(use.map((x) => x.p50).filter((v) => v !== null));
  e.p99 = median(use.map((x) => x.p99).filter((v) => v !== null));
  e.errors = e.rounds.reduce((a, x) => a + (x.errors ?? 0), 0);
  e.firstError = e.rounds.find((x) => x.firstError)?.firstError ?? null;
}
