/** The Worker: the app's requests, the crons' jobs, and the Durable Object classes. */
import app from "./app";
import { RETENTION_CRON, startRetention } from "./admin/retention";
import { removeUnclaimed } from "./attachments/cleanup";
import type { Bindings } from "./env";
import { consumeQueue } from "./queues";

export { Eraser } from "./admin/erasure";
export { Retention } from "./admin/retention";
export { Stats } from "./admin/stats";
export { Ticket } from "./auth/Ticket";
export { Limiter } from "./limits";
export { Room } from "./room/Room";
export { User } from "./user/User";

export default {
  fetch: app.fetch,
  // The crons (wrangler.toml [triggers]): daily retention; hourly, uploads no message claimed within a day.
  scheduled(controller, env, ctx) {
    if (controller.cron === RETENTION_CRON) ctx.waitUntil(startRetention(env, controller.scheduledTime));
    else ctx.waitUntil(removeUnclaimed(env));
  },
  queue: consumeQueue,
} satisfies ExportedHandler<Bindings>;
