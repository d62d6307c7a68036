/**
 * Starting and stopping the targets. Every server runs in its own process(es) so its CPU and
 * memory can be read from /proc apart from the load generator's:
 *   raw, socket.io      one Node process each
 *   socket.io-cluster   two socket.io processes and a redis-server (the largeroom section)
 *   ours, do-min, do-sql one workerd (child of a small Miniflare host process)
 */
import { fork, spawn } from "node:child_process";
import { join } from "node:path";
import { BENCH_DIR, ROOT } from "./paths.mjs";

const ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1", FORCE_COLOR: "0" };

function waitReady(child, name, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs / 1000} s`)), timeoutMs);
    child.once("message", (msg) => {
      clearTimeout(t);
      resolve(msg);
    });
    child.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`${name} exited (${code}) before it was ready`));
    });
  });
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  try {
    child.send({ cmd: "stop" });
  } catch {
    child.kill("SIGTERM");
  }
  const t = setTimeout(() => child.kill("SIGKILL"), 8000);
  await exited;
  clearTimeout(t);
}

/** raw or socket.io, in a fresh Node process (`env`: more environment for it). */
export async function startNodeTarget(kind, env = {}) {
  const script = kind === "raw" ? "raw-server.mjs" : "sio-server.mjs";
  const child = fork(join(BENCH_DIR, "targets", script), [], {
    execArgv: ["--expose-gc"],
    env: { ...ENV, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = await waitReady(child, kind);
  return {
    kind,
    base: `http://127.0.0.1:${ready.port}`,
    pids: [child.pid],
    rssPids: [child.pid],
    async gc() {
      child.send({ cmd: "gc" });
      await new Promise((r) => child.once("message", r));
    },
    stop: () => stopChild(child),
  };
}

/**
 * socket.io-cluster: `processes` Socket.IO servers joined by `@socket.io/redis-adapter` on the
 * given redis-server (lib/redis.mjs startRedisServer). `bases` are the processes' URLs: clients
 * are spread over them as a sticky load balancer would. `pids` are every process the cluster
 * runs on, Redis included; `parts` names them for the per-process CPU figures.
 */
export async function startSioCluster(redis, processes = 2) {
  const nodes = [];
  try {
    for (let i = 0; i < processes; i++) nodes.push(await startNodeTarget("socket.io", { SIO_REDIS_URL: redis.url }));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  const parts = Object.fromEntries(nodes.map((n, i) => [`socket.io ${i + 1}`, n.pids]));
  parts["redis-server"] = redis.pids;
  return {
    kind: "socket.io-cluster",
    base: nodes[0].base,
    bases: nodes.map((n) => n.base),
    pids: [...nodes.flatMap((n) => n.pids), ...redis.pids],
    rssPids: [...nodes.flatMap((n) => n.rssPids), ...redis.pids],
    parts,
    async gc() {
      await Promise.all(nodes.map((n) => n.gc()));
    },
    stop: () => Promise.all(nodes.map((n) => n.stop())),
  };
}

/**
 * The workerd holding ours, do-min, do-sql (and the seedable project for history/flush).
 * `variants` ({ name: { VAR: value } }) adds the project once more per name with those vars
 * (the `limits` section), at `urls.variants[name]`. `registry` (a directory) and `sharded`, or
 * `role: "shards"` with `region`: the processes of ours-sharded (lib/workerd-host.mjs, lib/sharding.mjs).
 */
export async function startWorkerd(stateDir, vars, { inspectorPort, variants = {}, registry, sharded = false, role, region } = {}) {
  const options = JSON.stringify({ registry, sharded, role, region });
  const child = fork(join(BENCH_DIR, "lib/workerd-host.mjs"), [stateDir, JSON.stringify(vars), JSON.stringify(variants), options], {
    env: inspectorPort ? { ...ENV, BENCH_INSPECTOR_PORT: String(inspectorPort) } : ENV,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = await waitReady(child, "workerd host", 120_000);
  if (!ready.workerdPid) throw new Error("could not find the workerd process under the Miniflare host");
  return {
    kind: "workerd",
    urls: ready.urls,
    // The host only relays Miniflare's control traffic; counted anyway so nothing hides there.
    pids: [ready.workerdPid, ready.pid],
    rssPids: [ready.workerdPid],
    workerdPid: ready.workerdPid,
    async gc() {},
    stop: () => stopChild(child),
  };
}

export function applyMigrations(stateDir) {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], {
      cwd: ROOT,
      env: ENV,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`d1 migrations apply failed (${code}):\n${out}`))));
  });
}

/** Dev tokens for these user ids (POST /api/auth/dev, on because the bench sets DEV_MODE). */
export async function devTokens(base, ids) {
  const out = [];
  for (const id of ids) {
    const res = await fetch(`${base}/api/auth/dev`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: id, name: id }),
    });
    if (res.status !== 200) throw new Error(`POST /api/auth/dev for ${id}: HTTP ${res.status} ${await res.text()}`);
    out.push({ id, token: (await res.json()).token });
  }
  return out;
}
