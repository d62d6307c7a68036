import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { errors, json, object, PUBLIC, ref } from "../openapi/describe";
import { createMiddleware } from "hono/factory";
import { newTicket, TICKET_TTL_MS, ticketStub } from "../auth/Ticket";
import { readConfig } from "../config";
import { ensureUser } from "../db/users";
import type { AppEnv, Bindings } from "../env";
import { ApiError } from "../lib/errors";
import { isEmailAddress, signToken, type Claims } from "../lib/jwt";
import { log } from "../lib/log";
import { userId } from "../lib/params";
import { roomStub, unwrap } from "../lib/room-rpc";
import { zValidator } from "../lib/validate";
import * as z from "../lib/zod";
import { rateLimit } from "../limits/http";
import { identityOf, requireUser, signingSecret } from "../middleware/auth";
import { displayNameSchema, SERVICE_ROLES, type Identity, type ServiceRole } from "../protocol";

const DEV_TOKEN_TTL_S = 24 * 60 * 60;

const devLogin = z.strictObject({
  userId,
  name: displayNameSchema,
  roles: z.optional(z.array(z.enum(SERVICE_ROLES)).check(z.maxLength(SERVICE_ROLES.length))),
  email: z.optional(z.string().check(z.refine(isEmailAddress, "email must be an address"))),
});
const visitorLogin = z.strictObject({ name: displayNameSchema });

const devOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (!readConfig(c.env).devMode) throw new ApiError("not_found", "dev auth is off");
  await next();
});

function claimsFor(user: Identity, ttlSeconds: number, roles: ServiceRole[] = []): Omit<Claims, "iat"> {
  return { sub: user.id, name: user.name, kind: user.kind, roles, exp: Math.floor(Date.now() / 1000) + ttlSeconds };
}

async function issue(env: Bindings, claims: Omit<Claims, "iat">): Promise<string> {
  const state = signingSecret(env);
  if (state.secret === null) throw new ApiError("internal", state.reason);
  if (env.JWT_ISSUER) claims.iss = env.JWT_ISSUER;
  if (env.JWT_AUDIENCE) claims.aud = env.JWT_AUDIENCE;
  return signToken(claims, state.secret);
}

const auth = new Hono<AppEnv>();

/** Local development only: a token for any user id, with the service roles asked for. */
auth.post("/dev", describeRoute({
  tags: ["Auth"],
  operationId: "devLogin",
  summary: "A token for any user (dev mode only)",
  description: "Only where dev mode is on (`npm start`); a deployed Worker answers 404. Valid for 24 h.",
  security: PUBLIC,
  responses: { 200: json("A token and the user it stands for", object({ token: { type: "string" }, user: ref("Identity") })), ...errors(404) },
}), devOnly, zValidator("json", devLogin), async (c) => {
  const { userId: id, name, roles = [], email } = c.req.valid("json");
  const claims = { ...claimsFor({ id, name, kind: "member" }, DEV_TOKEN_TTL_S, roles), ...(email ? { email } : {}) };
  // The user as the token will be seen: the claimed roles and any the settings grant.
  const user = identityOf(c.env, claims);
  await ensureUser(c.env.DB, user, email);
  return c.json({ token: await issue(c.env, claims), user });
});

/**
 * A single-use ticket for one socket connection (`?ticket=`), valid for 60 s, so that a
 * long-lived token never appears in a socket URL (and so in no access log). Each ticket is its
 * own Durable Object, so it can be spent once across every isolate.
 */
auth.post("/ticket", describeRoute({
  tags: ["Auth"],
  operationId: "createTicket",
  summary: "A single-use socket ticket",
  description: "Opens one socket (`?ticket=`) within 60 s, then never again, so that a long-lived token never appears in a socket URL.",
  responses: { 200: json("The ticket", object({ ticket: { type: "string" }, expiresAt: { type: "string" } })), ...errors(429) },
}), requireUser(), rateLimit({ rule: "tickets", key: (c) => c.var.user.id }), async (c) => {
  const ticket = newTicket();
  const expiresAt = Date.now() + TICKET_TTL_MS;
  if (!(await ticketStub(c.env, ticket).issue(c.var.user, expiresAt))) throw new ApiError("internal", "ticket collision");
  return c.json({ ticket, expiresAt: new Date(expiresAt).toISOString() });
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
  describeRoute({
    tags: ["Auth"],
    operationId: "visitorLogin",
    summary: "A token for an anonymous website visitor",
    description: "A short-lived visitor token (VISITOR_TOKEN_TTL_S, 2 h) and a new private room that every staff user can answer.",
    security: PUBLIC,
    responses: {
      200: json("The token, the visitor and their room", object({ token: { type: "string" }, user: ref("Identity"), roomId: { type: "string" } })),
      ...errors(429),
    },
  }),
  zValidator("json", visitorLogin),
  canSign,
  rateLimit({ rule: "visitorTokens", key: (c) => c.req.header("cf-connecting-ip") ?? "unknown" }),
  async (c) => {
  const user: Identity = { id: `v-${crypto.randomUUID()}`, name: c.req.valid("json").name, kind: "visitor" };
  const roomId = `visitor-${crypto.randomUUID()}`;
  // The visitor is the room's only member: staff reach every visitor room by their role
  // (src/room/membership.ts), including staff who join after the room was made.
  const ttl = Number.parseInt(c.env.VISITOR_TOKEN_TTL_S, 10) || 7200;
  const token = await issue(c.env, claimsFor(user, ttl));
  await ensureUser(c.env.DB, user);
  unwrap(
    await roomStub(c.env, roomId).create(
      { id: roomId, kind: "visitor", title: `Visitor: ${user.name}`, createdBy: user.id, createdAt: new Date().toISOString() },
      [{ id: user.id, name: user.name, role: "member" }],
    ),
  );
  return c.json({ token, user, roomId });
  },
);

/**
 * A fresh token for the visitor who holds a valid one: the same user, so the same room and
 * conversation, for another VISITOR_TOKEN_TTL_S. Without it a visitor's conversation would end
 * with their first token (the widget renews a token once half its life is gone). It writes
 * nothing and costs one signature, so it has no budget of its own; a token that has expired
 * cannot be renewed, and its visitor starts a new conversation.
 */
auth.post(
  "/visitor/renew",
  describeRoute({
    tags: ["Auth"],
    operationId: "renewVisitorToken",
    summary: "A fresh token for a visitor",
    description: "For the visitor whose token is still valid: a new one for the same user and room, valid for another VISITOR_TOKEN_TTL_S. Member tokens are refused (403).",
    responses: { 200: json("The new token and the visitor", object({ token: { type: "string" }, user: ref("Identity") })), ...errors(403) },
  }),
  requireUser(),
  canSign,
  async (c) => {
  const user = c.var.user;
  if (user.kind !== "visitor") throw new ApiError("forbidden", "only visitor tokens are renewed here");
  const ttl = Number.parseInt(c.env.VISITOR_TOKEN_TTL_S, 10) || 7200;
  return c.json({ token: await issue(c.env, claimsFor(user, ttl)), user });
  },
);

export default auth;
