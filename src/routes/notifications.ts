import { Hono } from "hono";
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

notifications.get("/", zValidator("query", page), async (c) => {
  const { limit = PAGE_DEFAULT, before } = c.req.valid("query");
  return c.json(await listNotifications(c.env.DB, c.var.user.id, limit, before));
});

notifications.post("/:id/read", zValidator("param", idParam), async (c) => {
  if (!(await markRead(c.env.DB, c.var.user.id, c.req.valid("param").id))) throw new ApiError("not_found", "no such notification");
  return c.body(null, 204);
});

notifications.delete("/:id", zValidator("param", idParam), async (c) => {
  if (!(await deleteNotification(c.env.DB, c.var.user.id, c.req.valid("param").id))) throw new ApiError("not_found", "no such notification");
  return c.body(null, 204);
});

export default notifications;
