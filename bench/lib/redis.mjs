/**
 * A local Upstash for the `limits` section (scripts/local-upstash.mjs: a real `redis-server`
 * behind `@humanwhocodes/upstash-redis-server`), with what the bench reads from it; and a plain
 * local `redis-server` for the Socket.IO cluster of the `largeroom` section.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, redisMissing, startUpstash } from "../../scripts/local-upstash.mjs";

export { redisMissing };

const TOKEN = "bench-upstash-token";

/**
 * Starts both; returns { kind, url, token, version, pids, redisPid, restPid, commandCalls(), stop() }.
 * `pids` are both processes, for their CPU (they are outside workerd).
 */
export async function startRedis() {
  const upstash = await startUpstash({ token: TOKEN });
  const { url, command, redisPid, restPid } = upstash;
  try {
    const version = /redis_version:(\S+)/.exec(await command("INFO", "server"))?.[1] ?? null;
    return {
      kind: "redis",
      url,
      token: TOKEN,
      version,
      pids: [redisPid, restPid],
      redisPid,
      restPid,
      /**
       * Limit checks Redis has run so far: @upstash/ratelimit runs each as one EVALSHA (an EVAL
       * only once, after NOSCRIPT). Topics run as EVAL and are not counted.
       */
      async scriptCalls() {
        const stats = await command("INFO", "commandstats");
        let calls = 0;
        for (const m of stats.matchAll(/cmdstat_(evalsha|evalsha_ro):calls=(\d+)/g)) calls += Number(m[2]);
        return calls;
      },
      async gc() {},
      stop: upstash.stop,
    };
  } catch (err) {
    await upstash.stop();
    throw err;
  }
}

/**
 * A bare redis-server on a free port of 127.0.0.1, no persistence: what `@socket.io/redis-adapter`
 * connects to. Returns { url, version, pid, pids, stop() } once it answers PING.
 */
export async function startRedisServer() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "edge-chat-sio-redis-"));
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: "ignore",
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.once("error", () => {});
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const { Redis } = await import("ioredis");
  const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: (n) => (n > 100 ? null : 50), maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const version = /redis_version:(\S+)/.exec(await client.info("server"))?.[1] ?? null;
    return { kind: "redis", url: `redis://127.0.0.1:${port}`, version, pid: child.pid, pids: [child.pid], async gc() {}, stop };
  } catch (err) {
    await stop();
    throw new Error(`redis-server did not start: ${err?.message ?? err}`);
  } finally {
    client.disconnect();
  }
}
