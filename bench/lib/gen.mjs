/**
 * The parent side of the load generator: forks loadgen processes (or another generator script,
 * e.g. lib/user-sockets.mjs) and talks to them.
 */
import { fork } from "node:child_process";
import { join } from "node:path";
import hdr from "hdr-histogram-js";
import { BENCH_DIR } from "./paths.mjs";

export class GenProcess {
  constructor(name, script = "lib/loadgen.mjs") {
    this.name = name;
    this.child = fork(join(BENCH_DIR, script), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.pending = new Map();
    this.seq = 0;
    this.child.on("message", (msg) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg);
      else p.reject(new Error(`${this.name}: ${msg.error}`));
    });
    this.exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.once("exit", (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`${this.name} exited (${code})`));
      this.pending.clear();
    });
  }

  get pid() {
    return this.child.pid;
  }

  call(cmd, args = {}) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, cmd, ...args });
    });
  }

  async stop() {
    if (this.child.exitCode !== null) return;
    this.child.disconnect();
    const t = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

export const decode = (b64) => hdr.decodeFromCompressedBase64(b64);

/** Merges encoded histograms from several processes into one. */
export function merge(encoded) {
  const out = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  for (const e of encoded) if (e) out.add(decode(e));
  return out;
}

/** p50/p90/p99/max in ms of a histogram in µs. */
export function summary(h) {
  if (h.totalCount === 0) return { count: 0, p50: null, p90: null, p99: null, max: null };
  const ms = (v) => Math.round(v / 10) / 100;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
  };
}
