import { Hono } from "hono";
import { z } from "zod";
import { searchUsers } from "../db/users";
import type { AppEnv } from "../env";
import { positiveInt } from "../lib/params";
import { zValidator } from "../lib/validate";
import { membersOnly, requireUser } from "../middleware/auth";

/** The member directory, for finding people to message. Visitors may not read it. */
const users = new Hono<AppEnv>();
users.use("*", requireUser(), membersOnly());

users.get("/", zValidator("query", z.object({ q: z.string().max(64).default(""), limit: positiveInt(100).optional() })), async (c) => {
  const { q, limit = 20 } = c.req.valid("query");
  return c.json({ users: await searchUsers(c.env.DB, q.trim(), limit) });
});

export default users;
