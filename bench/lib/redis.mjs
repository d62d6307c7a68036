/**
 * A local Upstash for the `limits` section (scripts/local-upstash.mjs: a real `redis-server`
 * behind `@humanwhocodes/upstash-redis-server`), with what the bench reads from it.
 */
import { redisMissing, startUpstash } from "../../scripts/local-upstash.mjs";

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
