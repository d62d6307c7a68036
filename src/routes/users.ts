import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { arrayOf, errors, json, object } from "../openapi/describe";
import { searchUsers } from "../db/users";
import type { AppEnv } from "../env";
import { positiveInt } from "../lib/params";
import { zValidator } from "../lib/validate";
import * as z from "../lib/zod";
import { membersOnly, requireUser } from "../middleware/auth";

/** The member directory, for finding people to message. Visitors may not read it. */
const users = new Hono<AppEnv>();
users.use("*", requireUser(), membersOnly());

const directoryQuery = z.object({ q: z._default(z.string().check(z.maxLength(64)), ""), limit: z.optional(positiveInt(100)) });

users.get("/", describeRoute({
  tags: ["Users"],
  operationId: "searchUsers",
  summary: "The member directory",
  description: "Members whose id or name starts with `q`, by name. Visitors may not read it.",
  responses: { 200: json("The members found", object({ users: arrayOf("Identity") })), ...errors(403) },
}), zValidator("query", directoryQuery), async (c) => {
  const { q, limit = 20 } = c.req.valid("query");
  return c.json({ users: await searchUsers(c.env.DB, q.trim(), limit) });
});

export default users;
