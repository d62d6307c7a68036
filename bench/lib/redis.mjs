/**
 * A local Upstash for the `limits` section: a real `redis-server` (the Debian package, as the
 * tests use it) with `@humanwhocodes/upstash-redis-server` in front speaking Upstash's REST
 * protocol, each its own process on a free port of 127.0.0.1, started by the bench and stopped
 * at its end. The REST server runs as its README runs it (its dist/server.js with URS_TOKEN,
 * PORT and REDIS_URL), never imported: its ioredis import breaks under some loaders.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./paths.mjs";

const TOKEN = "bench-upstash-token";

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function waitForPort(port, timeoutMs, exited) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    exited.then((why) => reject(new Error(why)));
    const attempt = () => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.end();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** Why the Upstash variant cannot run here, or null when `redis-server` is installed. */
export function redisMissing() {
  const r = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (r.error) return "redis-server is not installed (Debian package redis-server)";
  return null;
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 5000);
  await gone;
  clearTimeout(t);
}

/**
 * Starts both; returns { kind, url, token, version, pids, redisPid, restPid, commandCalls(), stop() }.
 * `pids` are both processes, for their CPU (they are outside workerd).
 */
export async function startRedis() {
  const redisPort = await freePort();
  const restPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "edge-chat-bench-redis-"));
  const children = [];
  const exitNote = (child, name) =>
    new Promise((resolve) => child.once("exit", (code, signal) => resolve(`${name} exited (${code ?? signal}) before it was ready`)));
  const stopAll = async () => {
    for (const child of children.reverse()) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const redis = spawn(
      "redis-server",
      ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { stdio: "ignore" },
    );
    children.push(redis);
    redis.once("error", () => {});
    await waitForPort(redisPort, 10_000, exitNote(redis, "redis-server"));
    const bin = join(ROOT, "node_modules/@humanwhocodes/upstash-redis-server/dist/server.js");
    const rest = spawn(process.execPath, [bin], {
      env: { ...process.env, URS_TOKEN: TOKEN, PORT: String(restPort), REDIS_URL: `redis://127.0.0.1:${redisPort}` },
      stdio: "ignore",
    });
    children.push(rest);
    await waitForPort(restPort, 15_000, exitNote(rest, "upstash-redis-server"));
    const url = `http://127.0.0.1:${restPort}`;
    const command = async (...args) => {
      const res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(args),
      });
      const body = await res.json();
      if (res.status !== 200 || body.error) throw new Error(`redis ${args[0]}: HTTP ${res.status} ${JSON.stringify(body)}`);
      return body.result;
    };
    const version = /redis_version:(\S+)/.exec(await command("INFO", "server"))?.[1] ?? null;
    return {
      kind: "redis",
      url,
      token: TOKEN,
      version,
      pids: [redis.pid, rest.pid],
      redisPid: redis.pid,
      restPid: rest.pid,
      /** Scripts Redis has run so far (EVAL + EVALSHA): one per limit check of @upstash/ratelimit. */
      async scriptCalls() {
        const stats = await command("INFO", "commandstats");
        let calls = 0;
        for (const m of stats.matchAll(/cmdstat_(eval|evalsha|eval_ro|evalsha_ro):calls=(\d+)/g)) calls += Number(m[2]);
        return calls;
      },
      async gc() {},
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
