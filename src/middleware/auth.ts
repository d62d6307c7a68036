import { createMiddleware } from "hono/factory";
import { readConfig } from "../config";
import { ensureUser } from "../db/users";
import type { AppEnv, Bindings } from "../env";
import { ApiError } from "../lib/errors";
import { TokenError, verifyToken } from "../lib/jwt";
import { log } from "../lib/log";
import type { Identity } from "../protocol";

/** Only for local development (`npm start`, tests); never used by a deployed Worker. */
export const DEV_JWT_SECRET = "edge-chat-local-development-secret-not-for-production";

export type SecretState = { secret: string; source: "configured" | "dev" } | { secret: null; reason: string };

export function signingSecret(env: Bindings): SecretState {
  if (env.JWT_SECRET) return { secret: env.JWT_SECRET, source: "configured" };
  if (readConfig(env).devMode) return { secret: DEV_JWT_SECRET, source: "dev" };
  return { secret: null, reason: "JWT_SECRET is not set: every token is refused (wrangler secret put JWT_SECRET)" };
}

export async function identify(env: Bindings, token: string | undefined): Promise<Identity> {
  if (!token) throw new ApiError("unauthorized", "missing access token");
  const state = signingSecret(env);
  if (state.secret === null) {
    log.error({ msg: state.reason });
    throw new ApiError("unauthorized", state.reason);
  }
  try {
    const claims = await verifyToken(token, state.secret, { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE });
    return { id: claims.sub, name: claims.name, kind: claims.kind };
  } catch (err) {
    if (err instanceof TokenError) throw new ApiError("unauthorized", err.message);
    throw err;
  }
}

export interface RequireUserOptions {
  /** Where the token comes from: the Authorization header (REST) or `?token=` (sockets). */
  from?: "header" | "query";
}

/** Verifies the caller's token, keeps their user row current and sets `c.var.user`. */
export const requireUser = (options: RequireUserOptions = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    let token: string | undefined;
    if (options.from === "query") {
      token = c.req.query("token");
    } else {
      const header = c.req.header("authorization");
      const match = header?.match(/^Bearer\s+(\S+)$/i);
      token = match?.[1];
    }
    const user = await identify(c.env, token);
    await ensureUser(c.env.DB, user);
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
