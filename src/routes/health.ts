import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { json, PUBLIC } from "../openapi/describe";
// A named import: the bundler inlines this one string and leaves the rest of package.json out.
import { version } from "../../package.json";
import type { AppEnv } from "../env";
import { limitsFor } from "../limits";
import { jwksUrl, signingSecret } from "../middleware/auth";

const health = new Hono<AppEnv>();

/** 200 when the Worker can serve; 503 with the reason when it cannot. */
health.get("/", describeRoute({
  tags: ["Service"],
  operationId: "getHealth",
  summary: "Whether the Worker can serve",
  description: "`checks.redis` is `embedded` without Upstash, else `ok` or the error; `checks.auth` says how tokens are verified.",
  security: PUBLIC,
  responses: { 200: json("It can serve", "Health"), 503: json("It cannot: `status` is `degraded`, and `checks` says why", "Health") },
}), async (c) => {
  const secret = signingSecret(c.env);
  let d1 = "ok";
  try {
    await c.env.DB.prepare("SELECT 1").first();
  } catch (err) {
    d1 = `error: ${err instanceof Error ? err.message : String(err)}`;
  }
  // "embedded" when no Upstash is configured; else whether Redis answers a PING.
  const redis = await limitsFor(c.env).store.check();
  // Tokens can be verified with the secret (HS256), the identity provider's key set, or both.
  const keySet = jwksUrl(c.env) !== null;
  const auth =
    secret.secret !== null
      ? `${secret.source === "dev" ? "dev secret" : "ok"}${keySet ? " + JWKS" : ""}`
      : keySet
        ? "JWKS only (no JWT_SECRET: visitor tokens cannot be signed)"
        : `error: ${secret.reason}`;
  const checks = { d1, redis, auth };
  const ok = d1 === "ok" && (secret.secret !== null || keySet) && !redis.startsWith("error");
  return c.json({ status: ok ? "ok" : "degraded", version, checks }, ok ? 200 : 503);
});

export default health;
