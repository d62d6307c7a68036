import { createMiddleware } from "hono/factory";
import { readConfig } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";

const LOCALHOST = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/**
 * Refuses browsers from foreign sites. A request without `Origin` is not from a browser page
 * and is allowed; the token still decides who it is.
 */
export const allowedOrigin = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      const config = readConfig(c.env);
      const self = new URL(c.req.url).origin;
      const ok =
        origin === self ||
        config.allowedOrigins.includes(origin) ||
        config.allowedOrigins.includes("*") ||
        (config.devMode && LOCALHOST.test(origin));
      if (!ok) throw new ApiError("forbidden", `origin ${origin} is not allowed`);
    }
    await next();
  });
