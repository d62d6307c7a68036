/** The Worker: the app's requests, the crons' jobs, the queues' batches, and the Durable Object classes. */
import app from "./app";
import { RETENTION_CRON, startRetention } from "./admin/retention";
import { removeUnclaimed } from "./attachments/cleanup";
import type { Bindings } from "./env";
import { handleQueue } from "./queues";
import { pruneDeliveries } from "./webhooks";
import { DIGEST_CRON, startDigests } from "./notify/mail";

export { Eraser } from "./admin/erasure";
export { Retention } from "./admin/retention";
export { Stats } from "./admin/stats";
export { Ticket } from "./auth/Ticket";
export { Limiter } from "./limits";
export { Room } from "./room/Room";
export { RoomShard } from "./shard/RoomShard";
export { User } from "./user/User";

export default {
  fetch: app.fetch,
  // The crons (wrangler.toml [triggers]): daily retention; the daily email digest; hourly, uploads no message claimed
  // within a day and old webhook delivery rows.
  scheduled(controller, env, ctx) {
    if (controller.cron === RETENTION_CRON) ctx.waitUntil(startRetention(env, controller.scheduledTime));
    else if (controller.cron === DIGEST_CRON) ctx.waitUntil(startDigests(env, controller.scheduledTime));
    else ctx.waitUntil(Promise.all([removeUnclaimed(env), pruneDeliveries(env.DB, controller.scheduledTime)]));
  },
  queue: handleQueue,
} satisfies ExportedHandler<Bindings>;
