import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { arrayOf, cursor, errors, json, noContent, object } from "../openapi/describe";
import * as z from "../lib/zod";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { positiveInt } from "../lib/params";
import { zValidator } from "../lib/validate";
import { requireUser } from "../middleware/auth";
import { deleteNotification, listNotifications, markRead } from "../notify/feed";

const PAGE_DEFAULT = 20;
const PAGE_MAX = 100;

const page = z.object({ limit: z.optional(positiveInt(PAGE_MAX)), before: z.optional(positiveInt()) });
const idParam = z.object({ id: z.string().check(z.regex(/^n_[0-9a-f]{24}$/, "no such notification")) });

/** The caller's notification feed (docs/notifications.md): their own, newest first; anyone else's is 404. */
const notifications = new Hono<AppEnv>();
notifications.use("*", requireUser());

notifications.get("/", describeRoute({
  tags: ["Notifications"],
  operationId: "getNotifications",
  summary: "Your notification feed",
  description: "Newest first.",
  responses: { 200: json("A page", object({ notifications: arrayOf("Notification"), nextBefore: cursor("integer") })) },
}), zValidator("query", page), async (c) => {
  const { limit = PAGE_DEFAULT, before } = c.req.valid("query");
  return c.json(await listNotifications(c.env.DB, c.var.user.id, limit, before));
});

notifications.post("/:id/read", describeRoute({
  tags: ["Notifications"],
  operationId: "markNotificationRead",
  summary: "Mark a notification read",
  responses: { 204: noContent("Marked"), ...errors(404) },
}), zValidator("param", idParam), async (c) => {
  if (!(await markRead(c.env.DB, c.var.user.id, c.req.valid("param").id))) throw new ApiError("not_found", "no such notification");
  return c.body(null, 204);
});

notifications.delete("/:id", describeRoute({
  tags: ["Notifications"],
  operationId: "deleteNotification",
  summary: "Delete a notification",
  responses: { 204: noContent("Deleted"), ...errors(404) },
}), zValidator("param", idParam), async (c) => {
  if (!(await deleteNotification(c.env.DB, c.var.user.id, c.req.valid("param").id))) throw new ApiError("not_found", "no such notification");
  return c.body(null, 204);
});

export default notifications;
