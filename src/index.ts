/** The Worker: the app's requests, the cron's cleanup, and the Durable Object classes. */
import app from "./app";
import { removeUnclaimed } from "./attachments/cleanup";
import type { Bindings } from "./env";

export { Ticket } from "./auth/Ticket";
export { Limiter } from "./limits";
export { Room } from "./room/Room";

export default {
  fetch: app.fetch,
  // The hourly cron (wrangler.toml [triggers]): uploads no message claimed within a day.
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(removeUnclaimed(env));
  },
} satisfies ExportedHandler<Bindings>;
