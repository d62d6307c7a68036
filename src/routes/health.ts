import { Hono } from "hono";
import pkg from "../../package.json";
import type { AppEnv } from "../env";
import { limitsFor } from "../limits";
import { signingSecret } from "../middleware/auth";

const health = new Hono<AppEnv>();

/** 200 when the Worker can serve; 503 with the reason when it cannot. */
health.get("/", async (c) => {
  const secret = signingSecret(c.env);
  let d1 = "ok";
  try {
    await c.env.DB.prepare("SELECT 1").first();
  } catch (err) {
    d1 = `error: ${err instanceof Error ? err.message : String(err)}`;
  }
  // "embedded" when no Upstash is configured; else whether Redis answers a PING.
  const redis = await limitsFor(c.env).store.check();
  const checks = {
    d1,
    redis,
    auth: secret.secret === null ? `error: ${secret.reason}` : secret.source === "dev" ? "dev secret" : "ok",
  };
  const ok = d1 === "ok" && secret.secret !== null && !redis.startsWith("error");
  return c.json({ status: ok ? "ok" : "degraded", version: pkg.version, checks }, ok ? 200 : 503);
});

export default health;
