import { createMiddleware } from "hono/factory";
import { readConfig } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { originPolicy } from "../lib/origins";

/**
 * Refuses browsers from foreign sites. A request without `Origin` is not from a browser page
 * and is allowed; the token still decides who it is.
 */
export const allowedOrigin = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const origin = c.req.header("origin");
    if (origin !== undefined && origin !== new URL(c.req.url).origin && !originPolicy(readConfig(c.env)).allows(origin)) {
      throw new ApiError("forbidden", `origin ${origin} is not allowed`);
    }
    await next();
  });
