import { createMiddleware } from "hono/factory";
import { isTicket, ticketStub } from "../auth/Ticket";
import { readConfig } from "../config";
import { ensureUser } from "../db/users";
import type { AppEnv, Bindings } from "../env";
import { ApiError } from "../lib/errors";
import { KeySetUnavailable, TokenError, verifyToken, type Claims } from "../lib/jwt";
import { log } from "../lib/log";
import { SERVICE_ROLES, type Identity } from "../protocol";

/** Only for local development (`npm start`, tests); never used by a deployed Worker. */
export const DEV_JWT_SECRET = "edge-chat-local-development-secret-not-for-production";

export type SecretState = { secret: string; source: "configured" | "dev" } | { secret: null; reason: string };

/** The HS256 secret: the Worker's own, else (dev mode only) the built-in dev secret. */
export function signingSecret(env: Bindings): SecretState {
  if (env.JWT_SECRET) return { secret: env.JWT_SECRET, source: "configured" };
  if (readConfig(env).devMode) return { secret: DEV_JWT_SECRET, source: "dev" };
  return { secret: null, reason: "JWT_SECRET is not set: HS256 tokens are refused, and the Worker cannot sign visitor tokens (wrangler secret put JWT_SECRET)" };
}

/** The identity provider's key set, for RS256/ES256 tokens; null when not configured. */
export const jwksUrl = (env: Bindings): string | null => env.JWKS_URL?.trim() || null;

/** A verified identity, with the address notification emails go to when the token carries one. */
export type Verified = Identity & { email?: string };

export async function identify(env: Bindings, token: string | undefined): Promise<Verified> {
  if (!token) throw new ApiError("unauthorized", "missing access token");
  const state = signingSecret(env);
  const keySet = jwksUrl(env);
  if (state.secret === null && keySet === null) {
    const reason = "neither JWT_SECRET nor JWKS_URL is set: every token is refused (wrangler secret put JWT_SECRET)";
    log.error({ msg: reason });
    throw new ApiError("unauthorized", reason);
  }
  try {
    const claims = await verifyToken(token, { secret: state.secret, jwksUrl: keySet }, { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE });
    const user: Verified = identityOf(env, claims);
    if (claims.email) user.email = claims.email;
    return user;
  } catch (err) {
    if (err instanceof TokenError) throw new ApiError("unauthorized", err.message);
    if (err instanceof KeySetUnavailable) {
      // The reason, never the token.
      log.error({ msg: err.message });
      throw new ApiError("unavailable", "the identity provider's keys cannot be fetched right now; try again shortly", { "retry-after": "5" });
    }
    throw err;
  }
}

/**
 * The verified claims as an identity. Members get the service roles of their `roles` claim and
 * those STAFF_USER_IDS / ADMIN_USER_IDS grant them; visitors never have roles.
 */
export function identityOf(env: Bindings, claims: Claims): Identity {
  const user: Identity = { id: claims.sub, name: claims.name, kind: claims.kind };
  if (claims.kind !== "member") return user;
  const config = readConfig(env);
  const granted = new Set(claims.roles ?? []);
  if (config.staff.includes(claims.sub)) granted.add("staff");
  if (config.admins.includes(claims.sub)) granted.add("admin");
  const roles = SERVICE_ROLES.filter((r) => granted.has(r));
  if (roles.length > 0) user.roles = roles;
  return user;
}

/** The identity a socket ticket stands for; it is spent by this call whatever follows. */
export async function redeemTicket(env: Bindings, ticket: string): Promise<Identity> {
  if (!isTicket(ticket)) throw new ApiError("unauthorized", "malformed ticket");
  const user = await ticketStub(env, ticket).redeem();
  if (user === null) throw new ApiError("unauthorized", "ticket is unknown, already used or expired");
  return user;
}

export interface RequireUserOptions {
  /**
   * Where the credential comes from: the Authorization header (REST), or the query string
   * (sockets: `?ticket=` from POST /api/auth/ticket, else `?token=`).
   */
  from?: "header" | "query";
}

/** Verifies the caller's token (or socket ticket), keeps their user row current and sets `c.var.user`. */
export const requireUser = (options: RequireUserOptions = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    let verified: Verified;
    if (options.from === "query") {
      const ticket = c.req.query("ticket");
      verified = ticket !== undefined ? await redeemTicket(c.env, ticket) : await identify(c.env, c.req.query("token"));
    } else {
      const header = c.req.header("authorization");
      const match = header?.match(/^Bearer\s+(\S+)$/i);
      verified = await identify(c.env, match?.[1]);
    }
    // The address is kept on the user's row for emails, and travels no further (no socket or room sees it).
    const { email, ...user } = verified;
    await ensureUser(c.env.DB, user, email);
    c.set("user", user);
    await next();
  });

/** Refuses visitors: they may use only their own visitor room. */
export const membersOnly = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (c.var.user.kind !== "member") throw new ApiError("forbidden", "visitors may only use their own room");
    await next();
  });

/** Only users with the service role `admin` (token claim or ADMIN_USER_IDS); anyone else 403. */
export const adminOnly = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!c.var.user.roles?.includes("admin")) throw new ApiError("forbidden", "this needs the admin role");
    await next();
  });
