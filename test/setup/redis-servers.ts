/**
 * Global setup for the Upstash test project: a real `redis-server` (the Debian package),
 * `@humanwhocodes/upstash-redis-server` in front of it speaking Upstash's REST protocol, and a
 * deliberately slow REST server for the timeout policy. Ports come from vitest.config.ts (it
 * needs them for the Worker's bindings) through the environment; everything stops afterwards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import { connect } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REDIS_TOKEN = "test-upstash-token";

function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
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

export default async function setup() {
  const redisPort = Number(process.env.TEST_REDIS_PORT);
  const restPort = Number(process.env.TEST_UPSTASH_PORT);
  const slowPort = Number(process.env.TEST_SLOW_UPSTASH_PORT);
  if (!redisPort || !restPort || !slowPort) throw new Error("vitest.config.ts sets the Redis test ports");

  const dir = mkdtempSync(join(tmpdir(), "edge-chat-redis-"));
  const redis: ChildProcess = spawn(
    "redis-server",
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: "ignore" },
  );
  const exited = new Promise<never>((_, reject) =>
    redis.once("exit", (code) => reject(new Error(`redis-server exited with ${code}; is the redis-server package installed?`))),
  );
  redis.once("error", () => {});
  try {
    await Promise.race([waitForPort(redisPort), exited]);
  } catch (err) {
    redis.kill("SIGKILL");
    throw err;
  }

  // Its own process, as its README runs it: `upstash-redis-server` with URS_TOKEN, PORT, REDIS_URL.
  // Its package exports only the app; the bin is the documented way to run it.
  const bin = fileURLToPath(new URL("../../node_modules/@humanwhocodes/upstash-redis-server/dist/server.js", import.meta.url));
  const rest: ChildProcess = spawn(process.execPath, [bin], {
    env: { ...process.env, URS_TOKEN: REDIS_TOKEN, PORT: String(restPort), REDIS_URL: `redis://127.0.0.1:${redisPort}` },
    stdio: "ignore",
  });
  // Answers like Upstash, but only after 3 s: longer than any timeout the limits allow.
  const slow = createServer((req, res) => {
    req.resume();
    setTimeout(() => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ result: null }));
    }, 3000);
  }).listen(slowPort, "127.0.0.1");
  const stop = async () => {
    slow.closeAllConnections();
    slow.close();
    for (const child of [rest, redis]) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(restPort);
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}
