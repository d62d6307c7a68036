import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { z } from "zod";
import { readConfig } from "../config";
import { communityAdmins } from "../db/rooms";
import { ensureUser, findUsers } from "../db/users";
import type { AppEnv, Bindings } from "../env";
import { ApiError } from "../lib/errors";
import { signToken, type Claims } from "../lib/jwt";
import { log } from "../lib/log";
import { userId } from "../lib/params";
import { roomStub, unwrap } from "../lib/room-rpc";
import { zValidator } from "../lib/validate";
import { rateLimit } from "../limits/http";
import { signingSecret } from "../middleware/auth";
import { displayNameSchema, type Identity } from "../protocol";

const DEV_TOKEN_TTL_S = 24 * 60 * 60;

const devLogin = z.strictObject({ userId, name: displayNameSchema });
const visitorLogin = z.strictObject({ name: displayNameSchema });

const devOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (!readConfig(c.env).devMode) throw new ApiError("not_found", "dev auth is off");
  await next();
});

async function issue(env: Bindings, user: Identity, ttlSeconds: number): Promise<string> {
  const state = signingSecret(env);
  if (state.secret === null) throw new ApiError("internal", state.reason);
  const claims: Omit<Claims, "iat"> = { sub: user.id, name: user.name, kind: user.kind, exp: Math.floor(Date.now() / 1000) + ttlSeconds };
  if (env.JWT_ISSUER) claims.iss = env.JWT_ISSUER;
  if (env.JWT_AUDIENCE) claims.aud = env.JWT_AUDIENCE;
  return signToken(claims, state.secret);
}

/** The staff a visitor's room includes: the configured list, else the community's admins. */
async function staffOf(env: Bindings): Promise<Identity[]> {
  const ids = readConfig(env).staff;
  if (ids.length === 0) return communityAdmins(env.DB);
  const known = await findUsers(env.DB, ids);
  return ids.map((id) => known.get(id) ?? { id, name: id, kind: "member" as const });
}

const auth = new Hono<AppEnv>();

/** Local development only: a token for any user id. */
auth.post("/dev", devOnly, zValidator("json", devLogin), async (c) => {
  const { userId: id, name } = c.req.valid("json");
  const user: Identity = { id, name, kind: "member" };
  await ensureUser(c.env.DB, user);
  return c.json({ token: await issue(c.env, user, DEV_TOKEN_TTL_S), user });
});

/**
 * A Worker that cannot sign refuses as every token route does without a secret (401, and why, in
 * its log and /api/health), before anything is counted or written.
 */
const canSign = createMiddleware<AppEnv>(async (c, next) => {
  const state = signingSecret(c.env);
  if (state.secret === null) {
    log.error({ msg: state.reason });
    throw new ApiError("unauthorized", state.reason);
  }
  await next();
});

/**
 * An anonymous website visitor: a short-lived token and a private room with the staff. What can
 * fail is checked first (input, secret, budget), then the token is signed, and only then are
 * the user and the room written: a refusal leaves no user, no room and no spent budget behind.
 */
auth.post(
  "/visitor",
  zValidator("json", visitorLogin),
  canSign,
  rateLimit({ rule: "visitorTokens", key: (c) => c.req.header("cf-connecting-ip") ?? "unknown" }),
  async (c) => {
  const user: Identity = { id: `v-${crypto.randomUUID()}`, name: c.req.valid("json").name, kind: "visitor" };
  const roomId = `visitor-${crypto.randomUUID()}`;
  const staff = await staffOf(c.env);
  const ttl = Number.parseInt(c.env.VISITOR_TOKEN_TTL_S, 10) || 7200;
  const token = await issue(c.env, user, ttl);
  await ensureUser(c.env.DB, user);
  unwrap(
    await roomStub(c.env, roomId).create(
      { id: roomId, kind: "visitor", title: `Visitor: ${user.name}`, createdBy: user.id, createdAt: new Date().toISOString() },
      [{ ...user, role: "member" }, ...staff.map((s) => ({ id: s.id, name: s.name, role: "admin" as const }))],
    ),
  );
  return c.json({ token, user, roomId });
  },
);

export default auth;
