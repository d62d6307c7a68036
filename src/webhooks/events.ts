/** What a webhook can subscribe to, what it receives, and what travels through the queue. */

export const WEBHOOK_EVENT_TYPES = ["message.created", "message.updated", "message.deleted", "member.added", "member.removed"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const isWebhookEventType = (type: unknown): type is WebhookEventType =>
  (WEBHOOK_EVENT_TYPES as readonly unknown[]).includes(type);

/**
 * One event, exactly as a receiver gets it (the POST body). `id` must be stable and unique per
 * event, e.g. `evt_<roomId>_<seq>_<kind>`: publishing the same id again delivers nothing new,
 * and it is the `Webhook-Id` receivers dedupe on.
 */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  /** ISO 8601, when the event happened (not when it is delivered). */
  createdAt: string;
  data: unknown;
}

/** One queue message: an event for one webhook. */
export interface WebhookDelivery {
  webhookId: string;
  event: WebhookEvent;
}

/** Event ids travel in headers and key D1 rows: printable ASCII without spaces, bounded. */
export const EVENT_ID_PATTERN = /^[\x21-\x7e]{1,200}$/;
