/** Local development helpers; every route here answers 404 unless dev mode is on. */
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { errors, json, PUBLIC } from "../openapi/describe";
import { createMiddleware } from "hono/factory";
import * as z from "../lib/zod";
import { readConfig } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { zValidator } from "../lib/validate";
import { readOutbox } from "../notify/email/outbox";

const dev = new Hono<AppEnv>();

// Not behind sign-in: dev mode hands anyone a token anyway, and a browser tab can open this.
dev.use(
  "*",
  createMiddleware<AppEnv>(async (c, next) => {
    if (!readConfig(c.env).devMode) throw new ApiError("not_found", "dev routes are off");
    await next();
  }),
);

const outboxQuery = z.object({
  limit: z.optional(z.string().check(z.regex(/^([1-9]\d?|100)$/, "limit is 1-100"))),
  to: z.optional(z.string().check(z.maxLength(320))),
});

/** What the outbox provider wrote instead of sending (EMAIL_PROVIDER=outbox), newest first. */
dev.get("/outbox", describeRoute({
  tags: ["Service"],
  operationId: "getDevOutbox",
  summary: "The emails the outbox provider stored (dev mode only)",
  description: "With EMAIL_PROVIDER=outbox, newest first; 404 unless dev mode is on.",
  security: PUBLIC,
  responses: { 200: json("The stored emails", { type: "object", properties: { emails: { type: "array", items: { type: "object" } } } }), ...errors(404) },
}), zValidator("query", outboxQuery), async (c) => {
  const { limit = "50", to } = c.req.valid("query");
  return c.json({ emails: await readOutbox(c.env.DB, Number(limit), to) });
});

export default dev;
