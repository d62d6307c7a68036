/// <reference types="node" />
/**
 * The crash-and-recover check (chaos/run.ts, `npm run chaos`) in a short form: a real
 * `wrangler dev` process SIGKILLed twice mid-traffic and restarted on the same state, with
 * flush alarms every 200 ms, once as is and once with sharding on. The seeds are fixed so a
 * failure can be rerun with `npm run chaos -- --rooms 2 --clients 3 --duration 15 --kills 2 --seed 20240`
 * (and `--seed 20241 --shards 1`).
 */
import { describe, expect, it } from "vitest";
import { formatReport, runChaos } from "../../chaos/run";

/** Two rooms of three clients, the server killed twice in 15 s of traffic (0: sharding off). */
async function killTwice(seed: number, shardThreshold = 0) {
  const report = await runChaos({
    rooms: 2,
    clients: 3,
    durationS: 15,
    kills: 2,
    flushIntervalMs: 200,
    sendEveryMs: 800,
    burst: 3,
    seed,
    shardThreshold,
    log: (line) => console.log(line),
  });
  console.log(formatReport(report));
  expect(report.kills).toBe(2);
  expect(report.acked).toBeGreaterThan(0);
  expect(report.problems).toEqual([]);
  expect(report.lost).toBe(0);
  expect(report.duplicates).toBe(0);
  // Every acked message is stored once; unacked ones at most once.
  expect(report.stored).toBe(report.acked + report.unackedStored);
  expect(report.d1Rows).toBe(report.stored);
  return report;
}

describe("crash and recover", () => {
  it("loses, duplicates and reorders nothing when the server is killed twice mid-traffic", async () => {
    const report = await killTwice(20240);
    expect(report.shardObjects).toBe(0);
  }, 150_000);

  it("loses, duplicates and reorders nothing with sharding on, each room's clients spread over the room and its shards", async () => {
    // One socket per object: of each room's three clients, the first the room holds, the others
    // two shards (or further ones, while the room still counts sockets a kill took away).
    const report = await killTwice(20241, 1);
    // Each room's second and third client on a shard of its own, at least.
    expect(report.shardObjects).toBeGreaterThanOrEqual(4);
  }, 150_000);
});
