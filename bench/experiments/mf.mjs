/**
 * Shared by the experiments: the Miniflare that the project's wrangler pins (not whatever is
 * hoisted), the workerd process each instance starts, and its CPU per thread from /proc.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ticksPerSecond } from "../lib/procstat.mjs";
import { ROOT } from "../lib/paths.mjs";

const requireFromWrangler = createRequire(createRequire(join(ROOT, "package.json")).resolve("wrangler/package.json"));
export const { Miniflare, Log, LogLevel } = await import(pathToFileURL(requireFromWrangler.resolve("miniflare")).href);
export const miniflareVersion = requireFromWrangler("miniflare/package.json").version;

const statFields = (path) => {
  const stat = readFileSync(path, "utf8");
  return { comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), f: stat.slice(stat.lastIndexOf(")") + 2).split(" ") };
};

/** workerd processes whose parent is `parent` (a Miniflare instance's runtime). */
export function workerdChildren(parent = process.pid) {
  const out = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const { comm, f } = statFields(`/proc/${pid}/stat`);
      if (comm === "workerd" && Number(f[1]) === parent) out.push(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Starts a Miniflare and returns it with the pid of the workerd it started. */
export async function startMiniflare(options) {
  const before = new Set(workerdChildren());
  const mf = new Miniflare({ host: "127.0.0.1", cf: false, log: new Log(LogLevel.WARN), ...options });
  await mf.ready;
  const pid = workerdChildren().find((p) => !before.has(p));
  if (!pid) throw new Error("no new workerd process under this Node process");
  return { mf, pid };
}

/** CPU seconds (user + system) of each thread of a process, by thread id, with its name. */
export function threadCpu(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const { comm, f } = statFields(`/proc/${pid}/task/${tid}/stat`);
      out.set(tid, { comm, cpu: (Number(f[11]) + Number(f[12])) / ticksPerSecond });
    } catch {
      // thread ended
    }
  }
  return out;
}

/** Per-thread CPU used between two threadCpu() readings, busiest first (threads under 10 ms left out). */
export function threadDelta(a, b) {
  const rows = [];
  for (const [tid, { comm, cpu }] of b) {
    const used = cpu - (a.get(tid)?.cpu ?? 0);
    if (used >= 0.01) rows.push({ tid, comm, cpu: Math.round(used * 100) / 100 });
  }
  return rows.sort((x, y) => y.cpu - x.cpu);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
