import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { readConfig } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { originPolicy } from "../lib/origins";

/** What a page on another site may read from an answer besides the simple headers. */
export const EXPOSED_HEADERS = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"];

const allowedCors = cors({
  // Only called for origins the policy allows (below): `*` answers `*`, anything else by name.
  origin: (origin, c) => (originPolicy(readConfig(c.env)).any ? "*" : origin),
  allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
  allowHeaders: ["Authorization", "Content-Type"],
  exposeHeaders: EXPOSED_HEADERS,
  // Tokens travel in Authorization, never in cookies.
  credentials: false,
  maxAge: 600,
});

/**
 * CORS for the REST API, for pages on the sites in `ALLOWED_ORIGINS` (src/lib/origins.ts).
 * The headers are set before the route runs, so errors (401, 429, ...) carry them too and the
 * page can read why it was refused. Requests from the Worker's own origin and from other sites
 * get no CORS headers; a preflight from another site is refused with 403. Every answer varies by
 * Origin, so a browser never reuses one it cached for the Worker's own page on another site's.
 */
export const apiCors = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const origin = c.req.header("origin");
    if (origin !== undefined && origin !== new URL(c.req.url).origin) {
      if (originPolicy(readConfig(c.env)).allows(origin)) return allowedCors(c, next);
      if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
        throw new ApiError("forbidden", `origin ${origin} is not allowed`);
      }
    }
    await next();
    c.header("Vary", "Origin", { append: true });
  });
