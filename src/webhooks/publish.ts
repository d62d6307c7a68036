/**
 * The entry point for events: `publishEvent` queues one delivery per subscribed webhook. The
 * caller (the rooms' outbox) may call it again with the same event after a failure or a crash:
 * deliveries already made are not queued again, and the consumer drops any duplicate copy.
 */
import { EVENT_ID_PATTERN, isWebhookEventType, type WebhookDelivery, type WebhookEvent } from "./events";
import { pendingDeliveries } from "./store";

export type WebhookEnv = Pick<Env, "DB" | "WEBHOOKS">;

// Cloudflare Queues: at most 100 messages and 256 KB per sendBatch, 128 KB per message. The
// margins cover the per-message overhead the platform counts besides the body.
const BATCH_MESSAGES = 100;
const BATCH_BYTES = 240_000;
const MESSAGE_BYTES = 120_000;
const OVERHEAD_BYTES = 200;

/**
 * Queues the event for every webhook subscribed to its type. Resolves once the queue holds them
 * (not when they are delivered); throws when D1 or the queue refuses, or when the event is
 * malformed or too large for a queue message. Safe to call again with the same event.
 */
export async function publishEvent(env: WebhookEnv, event: WebhookEvent): Promise<void> {
  if (!EVENT_ID_PATTERN.test(event.id)) throw new TypeError(`webhook event id must be 1-200 printable ASCII characters: ${JSON.stringify(event.id)}`);
  if (!isWebhookEventType(event.type)) throw new TypeError(`unknown webhook event type ${JSON.stringify(event.type)}`);
  const body = { id: event.id, type: event.type, createdAt: event.createdAt, data: event.data };
  const bytes = new TextEncoder().encode(JSON.stringify(body)).length + OVERHEAD_BYTES;
  if (bytes > MESSAGE_BYTES) throw new RangeError(`webhook event ${event.id} is ${bytes} bytes; a queue message holds at most ${MESSAGE_BYTES}`);

  const webhookIds = await pendingDeliveries(env.DB, body, new Date());
  const perBatch = Math.max(1, Math.min(BATCH_MESSAGES, Math.floor(BATCH_BYTES / bytes)));
  for (let i = 0; i < webhookIds.length; i += perBatch) {
    const messages = webhookIds.slice(i, i + perBatch).map((webhookId) => ({
      body: { webhookId, event: body } satisfies WebhookDelivery,
      contentType: "json" as const,
    }));
    await env.WEBHOOKS.sendBatch(messages);
  }
}
