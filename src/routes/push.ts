import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { errors, json, noContent, object } from "../openapi/describe";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { log } from "../lib/log";
import { zValidator } from "../lib/validate";
import { requireUser } from "../middleware/auth";
import { removeSubscription, saveSubscription, subscriptionInput, unsubscribeInput } from "../notify/push/subscriptions";
import { vapidKeys } from "../notify/push/vapid";

/** Web Push: the key browsers subscribe with, and their subscriptions (docs/notifications.md). */
const push = new Hono<AppEnv>();
push.use("*", requireUser());

/** The application server key for `pushManager.subscribe({ applicationServerKey })`. */
push.get("/vapid-public-key", describeRoute({
  tags: ["Notifications"],
  operationId: "getVapidPublicKey",
  summary: "The key browsers subscribe to Web Push with",
  responses: { 200: json("For `pushManager.subscribe({ applicationServerKey })`", object({ publicKey: { type: "string" } })), ...errors(503) },
}), async (c) => {
  const state = await vapidKeys(c.env);
  if (state.keys === null) {
    log.error({ msg: "Web Push is not configured", reason: state.reason });
    throw new ApiError("unavailable", "Web Push is not configured on this server");
  }
  return c.json({ publicKey: state.keys.publicKey });
});

/** A browser's PushSubscription JSON; 201 whether it is new or known. */
push.post("/subscriptions", describeRoute({
  tags: ["Notifications"],
  operationId: "addPushSubscription",
  summary: "Register a browser's push subscription",
  description: "The PushSubscription's JSON; 201 whether it is new or known.",
  responses: {
    201: json("Registered", object({ subscription: object({ endpoint: { type: "string" }, expirationTime: { type: ["integer", "null"] } }) })),
  },
}), zValidator("json", subscriptionInput), async (c) => {
  const input = c.req.valid("json");
  await saveSubscription(c.env.DB, c.var.user.id, input);
  return c.json({ subscription: { endpoint: input.endpoint, expirationTime: input.expirationTime ?? null } }, 201);
});

/** 204 whether or not the caller had it; someone else's subscription is never touched. */
push.delete("/subscriptions", describeRoute({
  tags: ["Notifications"],
  operationId: "removePushSubscription",
  summary: "Remove a push subscription",
  description: "204 whether or not you had it; someone else's is never touched.",
  responses: { 204: noContent("Gone") },
}), zValidator("json", unsubscribeInput), async (c) => {
  await removeSubscription(c.env.DB, c.var.user.id, c.req.valid("json").endpoint);
  return c.body(null, 204);
});

export default push;
