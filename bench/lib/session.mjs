/**
 * A room under load: one sender process with S sockets, receiver processes with R sockets,
 * all in one room of one target. `step()` runs one open-loop step at a fixed input rate and
 * returns what was delivered, the latency percentiles and the server CPU it took.
 */
import { GenProcess, merge, summary } from "./gen.mjs";
import { plan } from "./mix.mjs";
import { cpuSeconds, foreignWindow } from "./procstat.mjs";
import { RECEIVER_USERS } from "./targets.mjs";

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Receivers per generator process (more processes once rooms get large). */
const RECEIVERS_PER_PROCESS = 800;
const MAX_RECEIVER_PROCESSES = 4;

let tagCounter = 0;

export const LIMITS = {
  p99Ms: 100,
  /** Generator health: beyond these the step says nothing about the server and is discarded. */
  sendLagP99Ms: 20,
  genLoopDelayP99Ms: 80,
  genCpuShare: 0.9,
  /** CPU used by processes outside the bench (other jobs on the box), in cores. */
  foreignCores: 0.35,
};

export class Session {
  /**
   * @param target { name, base, pids, users?(role, n) }
   */
  constructor(target, room) {
    this.target = target;
    this.room = room;
    this.sender = null;
    this.receivers = [];
    this.receiverCount = 0;
  }

  /**
   * A new room of the target with its sockets connected, after one unrecorded step at `rate`
   * (JIT, caches) and once the server has gone quiet again: where every measurement starts.
   * `warmup` replaces that step (the mix section seeds the room and warms every mix).
   */
  static async warm(target, label, senders, receivers, rate, warmupMs, warmup = (s) => s.step(rate, warmupMs)) {
    const room = await target.prepareRoom(label, senders);
    const session = await Session.open(target, room, senders, receivers);
    try {
      await warmup(session);
      await session.settle();
      return session;
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  static async open(target, room, senders, receivers) {
    const s = new Session(target, room);
    s.sender = new GenProcess(`${target.name}:senders`);
    try {
      const res = await s.sender.call("connect", {
        target: target.name,
        base: target.base,
        bases: target.bases ?? null,
        room,
        users: await target.users("s", senders),
        count: senders,
      });
      if (res.connected !== senders) throw new Error(`${target.name}: ${res.failed} senders failed to connect: ${res.firstError}`);
      await s.addReceivers(receivers);
      return s;
    } catch (err) {
      await s.close();
      throw err;
    }
  }

  /** Opens `n` more receiving sockets, spread over the receiver processes. */
  async addReceivers(n) {
    const want = Math.min(MAX_RECEIVER_PROCESSES, Math.max(1, Math.ceil((this.receiverCount + n) / RECEIVERS_PER_PROCESS)));
    while (this.receivers.length < want) this.receivers.push({ gen: new GenProcess(`${this.target.name}:receivers`), count: 0 });
    const users = await this.target.users("r", RECEIVER_USERS);
    const started = Date.now();
    let left = n;
    // Fill the emptiest processes first.
    const plan = this.receivers.map(() => 0);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < this.receivers.length; j++) {
        if (this.receivers[j].count + plan[j] < this.receivers[best].count + plan[best]) best = j;
      }
      plan[best]++;
    }
    const results = await Promise.all(
      this.receivers.map((r, j) =>
        plan[j] === 0
          ? { connected: 0, failed: 0 }
          : r.gen.call("connect", {
              target: this.target.name,
              // A target whose receivers enter elsewhere (ours-sharded: the shards' workerd) says so.
              base: this.target.receiverBase ?? this.target.base,
              bases: this.target.receiverBases ?? this.target.bases ?? null,
              room: this.room,
              users,
              count: plan[j],
              concurrency: 32,
            }),
      ),
    );
    let failed = 0;
    let firstError = null;
    results.forEach((res, j) => {
      this.receivers[j].count += res.connected;
      this.receiverCount += res.connected;
      left -= res.connected;
      failed += res.failed;
      firstError ??= res.firstError;
    });
    if (left > 0) throw new Error(`${this.target.name}: ${failed} receivers failed to connect (${firstError})`);
    return { ms: Date.now() - started };
  }

  /** Closes `n` receiving sockets, taken from the fullest processes. */
  async removeReceivers(n) {
    let left = n;
    while (left > 0) {
      const r = this.receivers.reduce((a, b) => (b.count > a.count ? b : a));
      if (r.count === 0) break;
      const take = Math.min(left, r.count, Math.ceil(n / this.receivers.length));
      const res = await r.gen.call("closeSome", { count: take });
      r.count -= res.closed;
      this.receiverCount -= res.closed;
      left -= res.closed;
    }
  }

  get gens() {
    return [this.sender, ...this.receivers.map((r) => r.gen)];
  }

  get pids() {
    return this.gens.map((g) => g.pid);
  }

  /**
   * One step: `rate` messages/s for `durationMs`, then up to `graceMs` for the last deliveries.
   * It passes with every delivery made and receive p99 ≤ `p99Ms` (LIMITS.p99Ms unless given).
   * With `mix` ({ shares, writers, messages }, see lib/mix.mjs) the actions are sends, reacts
   * and reads; each is delivered to every socket (as `message`, `updated` or `read`).
   * With `mention` ({ every, ids }) every `every`-th message @mentions one of `ids` (lib/loadgen.mjs).
   * `keepAck`: the result also carries the sender's ack-latency histograms (encoded: all acks,
   * and those of each sender's first two sends), so that rounds can be pooled. A target with
   * `side` ({ name: pids }: processes the server relies on outside its own, e.g. Redis) gets
   * their CPU reported apart, per name: `sideCpuPerDeliveryUs`.
   * A target with `parts` ({ name: pids }, a split of its own `pids`: a cluster's processes) gets
   * each one's CPU per delivery and share of a core: `partsCpu`.
   */
  async step(rate, durationMs, { graceMs = 2000, textBytes = 64, mix = null, mention = null, keepAck = false, p99Ms = LIMITS.p99Ms } = {}) {
    const tag = `t${++tagCounter}`;
    const count = Math.max(1, Math.round((rate * durationMs) / 1000));
    const sends = mix ? plan(count, mix.shares).filter((k) => k === "send").length : count;
    await Promise.all(this.gens.map((g) => g.call("arm", { tag, mix: Boolean(mix) })));
    const cpu0 = cpuSeconds(this.target.pids);
    const sideOf = () => (this.target.side ? Object.entries(this.target.side).map(([name, pids]) => [name, cpuSeconds(pids)]) : null);
    const side0 = sideOf();
    const partsOf = () => (this.target.parts ? Object.entries(this.target.parts).map(([name, pids]) => [name, cpuSeconds(pids)]) : null);
    const parts0 = partsOf();
    const gen0 = cpuSeconds(this.pids);
    const foreign = foreignWindow();
    const t0 = nowUs();
    const startUs = t0 + 100_000;
    const sendEndUs = startUs + (count * 1e6) / rate;
    const deadlineUs = sendEndUs + graceMs * 1000;
    const sending = this.sender.call("send", { tag, rate, count, startUs, textBytes, mix, mention });
    const mixPlan = mix && { count, shares: mix.shares, startUs, rate };
    const collected = await Promise.all(this.gens.map((g) => g.call("collect", { expected: count, deadlineUs, plan: mixPlan })));
    const sent = await sending;
    const t1 = nowUs();
    const cpu1 = cpuSeconds(this.target.pids);
    const side1 = sideOf();
    const parts1 = partsOf();
    const gen1 = cpuSeconds(this.pids);
    const wall = (t1 - t0) / 1e6;
    const foreignCores = foreign.end();

    const [senderRes, ...receiverRes] = collected;
    const latency = summary(merge(receiverRes.map((r) => r.latency)));
    const ack = summary(merge([senderRes.ackLatency]));
    const sendLag = summary(merge([senderRes.sendLag]));
    const sockets = collected.reduce((a, r) => a + r.sockets, 0);
    const delivered = collected.reduce((a, r) => a + r.delivered, 0);
    const receiverDelivered = receiverRes.reduce((a, r) => a + r.delivered, 0);
    const receiverFrames = receiverRes.reduce((a, r) => a + r.frames, 0);
    const expected = count * sockets;
    const serverCpu = cpu1 - cpu0;
    const complete = delivered === expected && senderRes.acks === sends;
    const genLoop = Math.max(...collected.map((r) => r.loopDelayP99Ms));
    const genShare = Math.max(...collected.map((r) => r.cpuShare));
    const genLimited =
      (sendLag.p99 ?? 0) > LIMITS.sendLagP99Ms || genLoop > LIMITS.genLoopDelayP99Ms || genShare > LIMITS.genCpuShare;
    const pass = complete && latency.p99 !== null && latency.p99 <= p99Ms;
    const disturbed = foreignCores > LIMITS.foreignCores;
    return {
      tag,
      rate,
      durationMs,
      count,
      sent: sent.sent,
      senders: senderRes.sockets,
      receivers: sockets - senderRes.sockets,
      expected,
      delivered,
      deliveredRatio: expected ? delivered / expected : 0,
      acks: senderRes.acks,
      ...(mix && {
        sends,
        errors: collected.reduce((a, r) => a + r.errors, 0),
        firstError: collected.find((r) => r.firstError)?.firstError ?? null,
        /** `updated`/`read` frames beyond the step's reacts/reads (their latency is unknown). */
        unmatched: collected.reduce((a, r) => a + r.unmatched, 0),
      }),
      complete,
      latency,
      ack,
      sendLag,
      genLoopDelayP99Ms: Math.round(genLoop * 10) / 10,
      genCpuShare: Math.round(genShare * 100) / 100,
      genCpuSeconds: Math.round((gen1 - gen0) * 100) / 100,
      serverCpuSeconds: Math.round(serverCpu * 1000) / 1000,
      serverCpuShare: Math.round((serverCpu / wall) * 100) / 100,
      foreignCores: Math.round(foreignCores * 100) / 100,
      disturbed,
      cpuPerDeliveryUs: delivered ? Math.round((serverCpu / delivered) * 1e7) / 10 : null,
      ...(side0 !== null && {
        sideCpuPerDeliveryUs: Object.fromEntries(
          side0.map(([name, c0], i) => [name, delivered ? Math.round(((side1[i][1] - c0) / delivered) * 1e7) / 10 : null]),
        ),
      }),
      ...(parts0 !== null && {
        partsCpu: Object.fromEntries(
          parts0.map(([name, c0], i) => {
            const used = parts1[i][1] - c0;
            return [name, { cpuPerDeliveryUs: delivered ? Math.round((used / delivered) * 1e7) / 10 : null, cpuShare: Math.round((used / wall) * 100) / 100 }];
          }),
        ),
      }),
      ...(keepAck && { ackHistogram: senderRes.ackLatency, ackFirstHistogram: senderRes.ackFirstLatency }),
      deliveriesPerSec: Math.round(delivered / (durationMs / 1000)),
      /** Messages per socket frame at the receivers: 1 = one send per message, more = batched. */
      msgsPerFrame: receiverFrames ? Math.round((receiverDelivered / receiverFrames) * 100) / 100 : null,
      pass,
      genLimited,
      valid: !genLimited && !disturbed,
    };
  }

  /** Ids of the newest `n` messages the senders had acked in the last step. */
  async recentMessageIds(n) {
    return (await this.sender.call("recentAcks", { n })).ids;
  }

  /** Waits until the server has worked off any backlog (its CPU goes quiet). */
  async settle(maxMs = 15_000) {
    const deadline = Date.now() + maxMs;
    let quiet = 0;
    let last = cpuSeconds(this.target.pids);
    while (Date.now() < deadline) {
      await sleep(200);
      const now = cpuSeconds(this.target.pids);
      quiet = now - last < 0.012 ? quiet + 1 : 0;
      last = now;
      if (quiet >= 2) return true;
    }
    return false;
  }

  /** Waits (up to maxMs) for other jobs on the machine to go quiet; returns the last reading. */
  static async quiet(maxMs) {
    const deadline = Date.now() + maxMs;
    let cores = 0;
    do {
      const w = foreignWindow();
      await sleep(500);
      cores = w.end();
      if (cores <= LIMITS.foreignCores * 0.7) return cores;
    } while (Date.now() < deadline);
    return cores;
  }

  async close() {
    await Promise.all(this.gens.map((g) => g.call("closeAll").catch(() => {})));
    await Promise.all(this.gens.map((g) => g.stop()));
  }
}
