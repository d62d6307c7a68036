/**
 * Webhooks: `publishEvent` when something happened, `consumeWebhooks` for the queue
 * (src/queues.ts). The admin routes are src/routes/webhooks.ts; docs/webhooks.md explains all.
 */
export { consumeWebhooks } from "./deliver";
export { WEBHOOK_EVENT_TYPES, isWebhookEventType, type WebhookDelivery, type WebhookEvent, type WebhookEventType } from "./events";
export { publishEvent, type WebhookEnv } from "./publish";
export { pruneDeliveries } from "./store";
