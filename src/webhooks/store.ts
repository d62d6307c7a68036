/**
 * Webhooks and their deliveries in D1 (tables `webhooks`, `webhook_deliveries` in
 * src/db/schema.ts). The delivery row is the at-most-once guard: see `claimDelivery`.
 */
import { asc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { webhooks } from "../db/schema";
import type { WebhookEvent, WebhookEventType } from "./events";

export const MAX_WEBHOOKS = 50;
/** Delivery rows are kept this long: longer than any retry schedule or dead-letter stay, so a late copy still finds its row. */
export const DELIVERY_RETENTION_DAYS = 14;

export interface WebhookView {
  id: string;
  url: string;
  events: WebhookEventType[];
  createdAt: string;
}

export async function listWebhooks(d1: D1Database): Promise<WebhookView[]> {
  const rows = await drizzle(d1)
    .select({ id: webhooks.id, url: webhooks.url, events: webhooks.events, createdAt: webhooks.createdAt })
    .from(webhooks)
    .orderBy(asc(webhooks.createdAt), asc(webhooks.id));
  return rows as WebhookView[];
}

// Counted and inserted in one statement, so two creations at once cannot pass the limit together.
const INSERT_UNDER_LIMIT = `
  INSERT INTO webhooks (id, url, events, secret, created_at)
  SELECT ?1, ?2, ?3, ?4, ?5 WHERE (SELECT count(*) FROM webhooks) < ?6`;

/** Stores a webhook unless there are MAX_WEBHOOKS already (then false). */
export async function insertWebhook(d1: D1Database, hook: WebhookView & { secret: string }): Promise<boolean> {
  const { meta } = await d1
    .prepare(INSERT_UNDER_LIMIT)
    .bind(hook.id, hook.url, JSON.stringify(hook.events), hook.secret, hook.createdAt, MAX_WEBHOOKS)
    .run();
  return meta.changes > 0;
}

/** Removes a webhook and its delivery rows; false when there was none. Queued deliveries find it gone and are dropped. */
export async function deleteWebhook(d1: D1Database, id: string): Promise<boolean> {
  const [, removed] = await d1.batch([
    d1.prepare("DELETE FROM webhook_deliveries WHERE webhook_id = ?").bind(id),
    d1.prepare("DELETE FROM webhooks WHERE id = ?").bind(id),
  ]);
  return removed!.meta.changes > 0;
}

const SUBSCRIBED = "EXISTS (SELECT 1 FROM json_each(w.events) WHERE value = ?2)";

/**
 * Records a pending delivery of `event` for every webhook subscribed to its type (a row that
 * exists is left alone), and returns the webhooks whose delivery is still pending: all of them
 * the first time, none once every one is delivered or failed.
 */
export async function pendingDeliveries(d1: D1Database, event: WebhookEvent, now: Date): Promise<string[]> {
  const at = now.toISOString();
  const [, pending] = await d1.batch<{ webhook_id: string }>([
    d1
      .prepare(
        `INSERT INTO webhook_deliveries (event_id, webhook_id, status, attempts, created_at, updated_at)
         SELECT ?1, w.id, 'pending', 0, ?3, ?3 FROM webhooks w WHERE ${SUBSCRIBED}
         ON CONFLICT DO NOTHING`,
      )
      .bind(event.id, event.type, at),
    d1
      .prepare(
        `SELECT d.webhook_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.event_id = ?1 AND d.status = 'pending' AND ${SUBSCRIBED}`,
      )
      .bind(event.id, event.type),
  ]);
  return pending!.results.map((r) => r.webhook_id);
}

export type Claim =
  /** This copy may POST; nobody else will until `leaseMs` has passed or the outcome is recorded. */
  | { kind: "claimed"; url: string; secret: string }
  /** The webhook no longer exists. */
  | { kind: "gone" }
  /** Delivered or permanently failed already. */
  | { kind: "done"; status: "delivered" | "failed" }
  /** Another copy holds the claim (POSTing right now, or it died): try again after `retryInMs`. */
  | { kind: "busy"; retryInMs: number };

/**
 * Claims the delivery of one event to one webhook, in one transaction: makes its row if there is
 * none (a message that skipped `pendingDeliveries`), then takes it if it is pending and nobody
 * holds it. A crashed holder's claim runs out after `leaseMs`, so the delivery is not stuck.
 */
export async function claimDelivery(d1: D1Database, eventId: string, webhookId: string, now: number, leaseMs: number): Promise<Claim> {
  const at = new Date(now).toISOString();
  const [, claimed, state] = await d1.batch<Record<string, unknown>>([
    d1
      .prepare(
        `INSERT INTO webhook_deliveries (event_id, webhook_id, status, attempts, created_at, updated_at)
         SELECT ?1, id, 'pending', 0, ?3, ?3 FROM webhooks WHERE id = ?2
         ON CONFLICT DO NOTHING`,
      )
      .bind(eventId, webhookId, at),
    d1
      .prepare(
        `UPDATE webhook_deliveries SET claimed_until = ?4, attempts = attempts + 1, updated_at = ?3
         WHERE event_id = ?1 AND webhook_id = ?2 AND status = 'pending' AND (claimed_until IS NULL OR claimed_until <= ?5)
         RETURNING attempts`,
      )
      .bind(eventId, webhookId, at, now + leaseMs, now),
    d1
      .prepare(
        `SELECT w.url, w.secret, d.status, d.claimed_until FROM webhooks w
         LEFT JOIN webhook_deliveries d ON d.event_id = ?1 AND d.webhook_id = w.id WHERE w.id = ?2`,
      )
      .bind(eventId, webhookId),
  ]);
  const row = state!.results[0] as { url: string; secret: string; status: string | null; claimed_until: number | null } | undefined;
  if (!row) return { kind: "gone" };
  if (claimed!.results.length > 0) return { kind: "claimed", url: row.url, secret: row.secret };
  if (row.status === "delivered" || row.status === "failed") return { kind: "done", status: row.status };
  return { kind: "busy", retryInMs: Math.max(0, (row.claimed_until ?? now) - now) };
}

export interface Outcome {
  status: "delivered" | "failed" | "pending";
  /** The receiver's HTTP status, null after a network error or timeout. */
  httpStatus: number | null;
  error: string | null;
}

/** Records what a claimed POST came to and releases the claim; `pending` leaves it for a retry. */
export async function recordOutcome(d1: D1Database, eventId: string, webhookId: string, outcome: Outcome, now: Date): Promise<void> {
  const at = now.toISOString();
  await d1
    .prepare(
      `UPDATE webhook_deliveries SET status = ?3, claimed_until = NULL, last_status = ?4, last_error = ?5, updated_at = ?6,
         delivered_at = CASE WHEN ?3 = 'delivered' THEN ?6 ELSE delivered_at END
       WHERE event_id = ?1 AND webhook_id = ?2`,
    )
    .bind(eventId, webhookId, outcome.status, outcome.httpStatus, outcome.error, at)
    .run();
}

/** Removes delivery rows older than DELIVERY_RETENTION_DAYS, a bounded number per call; returns how many. */
export async function pruneDeliveries(d1: D1Database, now = Date.now(), limit = 5000): Promise<number> {
  const cutoff = new Date(now - DELIVERY_RETENTION_DAYS * 86_400_000).toISOString();
  const { meta } = await d1
    .prepare(
      `DELETE FROM webhook_deliveries WHERE rowid IN
         (SELECT rowid FROM webhook_deliveries WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)`,
    )
    .bind(cutoff, limit)
    .run();
  return meta.changes;
}

/** A delivery row, for tests and inspection. */
export async function deliveryRow(d1: D1Database, eventId: string, webhookId: string) {
  return d1
    .prepare("SELECT * FROM webhook_deliveries WHERE event_id = ? AND webhook_id = ?")
    .bind(eventId, webhookId)
    .first<{ status: string; attempts: number; last_status: number | null; last_error: string | null; delivered_at: string | null }>();
}
