/**
 * Webhooks (`/api/admin/webhooks`), for users with the `admin` role like the rest of
 * administration: list, create (the signing secret is shown only then), delete.
 * docs/webhooks.md describes what a webhook receives.
 */
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { arrayOf, errors, json, noContent, object } from "../openapi/describe";
import * as z from "../lib/zod";
import { readConfig } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { zValidator } from "../lib/validate";
import { adminOnly, requireUser } from "../middleware/auth";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../webhooks/events";
import { deleteWebhook, insertWebhook, listWebhooks, MAX_WEBHOOKS } from "../webhooks/store";

const MAX_URL_LENGTH = 2048;

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

const isHttpUrl = (value: string) => {
  const url = parseUrl(value);
  return url !== null && (url.protocol === "https:" || url.protocol === "http:");
};

const createInput = z.strictObject({
  url: z
    .string("url must be a string")
    .check(
      z.trim(),
      z.maxLength(MAX_URL_LENGTH, `url is at most ${MAX_URL_LENGTH} characters`),
      z.refine(isHttpUrl, "url must be an absolute http(s) URL"),
      // Credentials in the URL would be shown to every admin by GET; the signature proves the sender.
      z.refine((v) => !parseUrl(v)?.username && !parseUrl(v)?.password, "url must not carry a user name or password"),
    ),
  events: z
    .array(z.enum(WEBHOOK_EVENT_TYPES, `events are ${WEBHOOK_EVENT_TYPES.join(", ")}`), "events must be a list")
    .check(z.minLength(1, "events must name at least one event"), z.maxLength(20, "events lists at most 20 entries")),
});

/** Standard Webhooks' secret format: `whsec_` and 32 random bytes in base64. */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

const webhooks = new Hono<AppEnv>();
webhooks.use("*", requireUser(), adminOnly());

/** Every webhook, oldest first, without secrets. */
webhooks.get("/", describeRoute({
  tags: ["Administration"],
  operationId: "listWebhooks",
  summary: "Every webhook",
  description: "Oldest first, without secrets.",
  responses: { 200: json("The webhooks", object({ webhooks: arrayOf("Webhook") })), ...errors(403) },
}), async (c) => c.json({ webhooks: await listWebhooks(c.env.DB) }));

/** 201 with the new webhook and its secret, which is never shown again; 409 past MAX_WEBHOOKS. */
webhooks.post("/", describeRoute({
  tags: ["Administration"],
  operationId: "createWebhook",
  summary: "Create a webhook",
  description: "Deliveries are signed per Standard Webhooks with the secret, which is shown only here (docs/webhooks.md).",
  responses: {
    201: json(
      "The webhook and its secret",
      object({ webhook: object({ id: { type: "string" }, url: { type: "string" }, events: { type: "array", items: { type: "string" } }, secret: { type: "string" } }) }),
    ),
    ...errors(403, 409),
  },
}), zValidator("json", createInput), async (c) => {
  const input = c.req.valid("json");
  const url = new URL(input.url);
  if (url.protocol !== "https:" && !readConfig(c.env).devMode) throw new ApiError("bad_request", "url must be https");
  const events = [...new Set(input.events)] as WebhookEventType[];
  const webhook = { id: `wh_${crypto.randomUUID().replaceAll("-", "")}`, url: url.href, events, secret: newSecret() };
  const created = await insertWebhook(c.env.DB, { ...webhook, createdAt: new Date().toISOString() });
  if (!created) throw new ApiError("conflict", `at most ${MAX_WEBHOOKS} webhooks; delete one first`);
  return c.json({ webhook }, 201);
});

/** 204; deliveries still queued for it are dropped. 404 when there is no such webhook. */
webhooks.delete("/:id", describeRoute({
  tags: ["Administration"],
  operationId: "deleteWebhook",
  summary: "Delete a webhook",
  description: "Deliveries still queued for it are dropped.",
  responses: { 204: noContent("Deleted"), ...errors(403, 404) },
}), async (c) => {
  const id = c.req.param("id");
  if (!(await deleteWebhook(c.env.DB, id))) throw new ApiError("not_found", `no webhook ${id}`);
  return c.body(null, 204);
});

export default webhooks;
