/**
 * The largeroom section (issue 13): the largest room each target serves at a fixed rate with
 * every message delivered and receive p99 ≤ 150 ms, through the room-size search of
 * lib/scenarios.mjs, for ours (sharding off), ours-sharded (shards in a second workerd,
 * lib/sharding.mjs), socket.io and socket.io-cluster (two Socket.IO processes on Redis). CPU per
 * delivery counts every process a target runs on, per process too (`partsCpu` of each step).
 */
import { roomSize } from "./scenarios.mjs";

export async function largeRoom(ctx) {
  const c = ctx.cfg.largeRoom;
  const { targets, skipped, about } = ctx.largeRoom;
  const entries = await roomSize(ctx, { config: c, targets, p99Ms: c.p99Ms, label: "large room", skipped });
  for (const e of entries) {
    const best = e.steps.find((s) => s.size === e.largest && s.valid && s.pass) ?? null;
    e.atLargest = best && {
      size: best.size,
      cpuPerDeliveryUs: best.cpuPerDeliveryUs,
      serverCpuShare: best.serverCpuShare,
      latency: best.latency,
      parts: best.partsCpu ?? null,
    };
  }
  return { rate: c.rate, senders: c.senders, sizes: c.sizes, p99Ms: c.p99Ms, stepMs: c.stepMs, goals: c.goals, skipped, about, entries };
}
