/**
 * A local Upstash: a real `redis-server` (the Debian package) with
 * `@humanwhocodes/upstash-redis-server` in front speaking Upstash's REST protocol, each its own
 * process on 127.0.0.1. The tests (test/setup/redis-servers.ts) and the bench's `limits`
 * section (bench/lib/redis.mjs) start it. The REST server runs as its README runs it (its
 * dist/server.js with URS_TOKEN, PORT and REDIS_URL), never imported: its ioredis import
 * breaks under some loaders.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { freePort } from "./ports.mjs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REST_SERVER = fileURLToPath(new URL("../node_modules/@humanwhocodes/upstash-redis-server/dist/server.js", import.meta.url));

export { freePort };

/** Why a local Upstash cannot run here, or null when `redis-server` is installed. */
export function redisMissing() {
  const r = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return r.error ? "redis-server is not installed (Debian package redis-server)" : null;
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

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 5000);
  await gone;
  clearTimeout(t);
}

/**
 * Starts both (on the given ports, else free ones). Returns `{ url, token, redisPid, restPid,
 * command(...args), stop() }`; everything started is stopped again if a step fails.
 */
export async function startUpstash({ token, redisPort, restPort } = {}) {
  token ??= "local-upstash-token";
  redisPort ??= await freePort();
  restPort ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), "edge-chat-redis-"));
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
    const rest = spawn(process.execPath, [REST_SERVER], {
      env: { ...process.env, URS_TOKEN: token, PORT: String(restPort), REDIS_URL: `redis://127.0.0.1:${redisPort}` },
      stdio: "ignore",
    });
    children.push(rest);
    await waitForPort(restPort, 15_000, exitNote(rest, "upstash-redis-server"));
    const url = `http://127.0.0.1:${restPort}`;
    /** One command over the REST protocol, e.g. `command("INFO", "server")`. */
    const command = async (...args) => {
      const res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(args),
      });
      const body = await res.json();
      if (res.status !== 200 || body.error) throw new Error(`redis ${args[0]}: HTTP ${res.status} ${JSON.stringify(body)}`);
      return body.result;
    };
    return { url, token, redisPid: redis.pid, restPid: rest.pid, command, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
