import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { arrayOf, json, object } from "../openapi/describe";
import * as z from "../lib/zod";
import type { AppEnv } from "../env";
import { zValidator } from "../lib/validate";
import { requireUser } from "../middleware/auth";
import { isUserId } from "../protocol";
import { presenceOf } from "../user/lookup";

export const MAX_PRESENCE_USERS = 100;

const query = z.object({
  userIds: z.pipe(
    z.string(),
    z.transform((s) => [...new Set(s.split(",").map((id) => id.trim()).filter(Boolean))]),
  ).check(
    z.refine((ids) => ids.length >= 1, "userIds: give at least one user id"),
    z.refine((ids) => ids.length <= MAX_PRESENCE_USERS, `userIds: at most ${MAX_PRESENCE_USERS} users`),
    z.refine((ids) => ids.every(isUserId), "userIds: user ids are 1-64 letters, digits, '-' or '_'"),
  ),
});

/** GET /api/presence?userIds=a,b: global presence, only for users who share a room with the caller. */
const presence = new Hono<AppEnv>();
presence.use("*", requireUser());

presence.get("/", describeRoute({
  tags: ["Users"],
  operationId: "getPresence",
  summary: "Global presence of users",
  description: "`userIds` is a comma-separated list of 1-100 user ids; only users who share a room with you are answered.",
  responses: { 200: json("Their presence, in the order asked", object({ users: arrayOf("Presence") })) },
}), zValidator("query", query), async (c) => {
  return c.json({ users: await presenceOf(c.env.DB, c.var.user.id, c.req.valid("query").userIds) });
});

export default presence;
