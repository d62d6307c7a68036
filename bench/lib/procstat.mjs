/** Server-side accounting from /proc: CPU (utime + stime) and resident memory of processes. */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticks = 100;
try {
  ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  // 100 on every Linux we care about
}

export const ticksPerSecond = ticks;

/** CPU seconds (user + system) consumed so far by these processes (not their children). */
export function cpuSeconds(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(f[11]) + Number(f[12])) / ticks; // utime, stime (fields 14, 15)
    } catch {
      // gone
    }
  }
  return total;
}

/** Resident set size in bytes of these processes. */
export function rssBytes(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

/** Open file descriptors of a process (every SQLite database a Durable Object has open holds some). */
export function openFiles(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** The machine's CPU counters (all cores, in ticks): busy = total − idle. */
export function machineTicks() {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  return { idle, total };
}

/** This process and all its descendants (servers, workerd, generators). */
export function treePids(root = process.pid) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // exited
    }
  }
  const out = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/** Starts a window; `end()` returns the cores used by processes outside the bench during it. */
export function foreignWindow() {
  const pids = treePids();
  const m0 = machineTicks();
  const c0 = cpuSeconds(pids);
  const t0 = performance.now();
  return {
    end() {
      const m1 = machineTicks();
      const c1 = cpuSeconds(pids);
      const wall = (performance.now() - t0) / 1000;
      const busy = (m1.total - m1.idle - (m0.total - m0.idle)) / ticks;
      return Math.max(0, (busy - (c1 - c0)) / Math.max(wall, 0.001));
    },
  };
}
