import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { log } from "../lib/log";

/**
 * Gives each request an id (Cloudflare's `cf-ray` when there is one, so the line matches the
 * platform's own logs; else a random one) that every log line it causes carries, here and in
 * the rooms it calls, and writes one `request` line when it is answered.
 *
 * The path only: query strings carry socket tokens and tickets. Workers advance `Date.now()`
 * only across I/O, so `ms` is time spent waiting on storage, rooms and the network.
 */
/** A cf-ray as Cloudflare writes it (anything else, e.g. sent by a client to `wrangler dev`, is replaced). */
const RAY = /^[0-9a-zA-Z-]{1,64}$/;

export const requestLog = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const ray = c.req.header("cf-ray");
    const requestId = ray && RAY.test(ray) ? ray : crypto.randomUUID();
    const started = Date.now();
    await log.with({ requestId }, async () => {
      await next();
      const user = c.get("user") as AppEnv["Variables"]["user"] | undefined;
      const { status } = c.res;
      // A failure itself is logged as an error where it happens; its request line only warns.
      log[status >= 500 ? "warn" : "info"]({
        msg: "request",
        method: c.req.method,
        path: new URL(c.req.url).pathname,
        status,
        ms: Date.now() - started,
        ...(user ? { userId: user.id } : {}),
      });
    });
  });
