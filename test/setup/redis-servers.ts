/**
 * Global setup for the Upstash test project: a local Upstash (scripts/local-upstash.mjs: a
 * real `redis-server` behind `@humanwhocodes/upstash-redis-server`), and a deliberately slow
 * REST server for the timeout policy. Ports come from vitest.config.ts (it needs them for the
 * Worker's bindings) through the environment; everything stops afterwards.
 */
import { createServer } from "node:http";
import { startUpstash } from "../../scripts/local-upstash.mjs";

export default async function setup() {
  const redisPort = Number(process.env.TEST_REDIS_PORT);
  const restPort = Number(process.env.TEST_UPSTASH_PORT);
  const slowPort = Number(process.env.TEST_SLOW_UPSTASH_PORT);
  if (!redisPort || !restPort || !slowPort) throw new Error("vitest.config.ts sets the Redis test ports");

  const upstash = await startUpstash({ token: process.env.TEST_UPSTASH_TOKEN, redisPort, restPort });
  // Answers like Upstash, but only after 3 s: longer than any timeout the limits allow.
  const slow = createServer((req, res) => {
    req.resume();
    setTimeout(() => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ result: null }));
    }, 3000);
  }).listen(slowPort, "127.0.0.1");

  return async () => {
    slow.closeAllConnections();
    slow.close();
    await upstash.stop();
  };
}
