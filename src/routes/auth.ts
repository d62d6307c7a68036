import { zValidator } from "../lib/validate";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { readConfig } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { signToken } from "../lib/jwt";
import { DEV_JWT_SECRET } from "../middleware/auth";
import { users } from "../db/schema";
import { drizzle } from "drizzle-orm/d1";
import { sql } from "drizzle-orm";

const DEV_TOKEN_TTL_S = 24 * 60 * 60;

const devLogin = z.strictObject({
  userId: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, "userId must be 1-64 letters, digits or . _ @ -"),
  name: z.string().trim().min(1, "name must not be empty").max(64, "name is at most 64 characters"),
});

const auth = new Hono<AppEnv>();

/** Local development only: a token for any user id, signed with the dev secret. */
const devOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (!readConfig(c.env).devMode) throw new ApiError("not_found", "dev auth is off");
  await next();
});

auth.post("/dev", devOnly, zValidator("json", devLogin), async (c) => {
  const { userId, name } = c.req.valid("json");
  const user = { id: userId, name, kind: "member" as const };
  await drizzle(c.env.DB)
    .insert(users)
    .values(user)
    .onConflictDoUpdate({ target: users.id, set: { name, updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))` } });
  const exp = Math.floor(Date.now() / 1000) + DEV_TOKEN_TTL_S;
  const token = await signToken({ sub: userId, name, kind: "member", exp }, c.env.JWT_SECRET ?? DEV_JWT_SECRET);
  return c.json({ token, user });
});

export default auth;
