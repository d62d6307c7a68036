/**
 * Sending one push to every subscription of a user: the payload encrypted per RFC 8291
 * (`aes128gcm`) and signed with VAPID by @block65/webcrypto-web-push, one POST per
 * subscription, all at once.
 *
 * - 201 (or any 2xx): delivered.
 * - 404 / 410: the subscription is gone for good; it is removed.
 * - 5xx, 429, network errors, timeouts: after every subscription was tried, RetryableDelivery.
 *   The caller retries the whole push; the subscriptions it already reached are written to
 *   `push_sent` (only in that case: a push that fully succeeds writes nothing), and a retry of
 *   the same `payload.id` skips them. The payload's `id` also lets the service worker show a
 *   repeat as the same notification (`tag`), and is the push's `Topic`, so a copy still
 *   waiting in a push service is replaced rather than delivered twice.
 * - Any other 4xx (a key mismatch, a payload refused): logged, not retried.
 */
import { buildPushPayload, type PushSubscription } from "@block65/webcrypto-web-push";
import { sql } from "drizzle-orm";
import type { Bindings } from "../../env";
import { base64url } from "../../lib/base64";
import { log } from "../../lib/log";
import { deliveryFetch, PermanentDelivery, RetryableDelivery } from "../errors";
import { vapidKeys } from "./vapid";

export interface PushPayload {
  /** The notification's id: the idempotency key, and the notification's `tag` in the browser. */
  id: string;
  title: string;
  body: string;
  roomId?: string;
  /** Where a click on the notification leads. */
  url?: string;
}

export interface PushResult {
  /** Subscriptions reached by this call (not those a previous attempt reached). */
  delivered: number;
  /** Subscriptions removed because their push service said they are gone. */
  removed: number;
}

/** How long a push service keeps a push for a browser that is offline. */
const TTL_S = 24 * 60 * 60;
/** The encrypted record holds at most 3993 bytes of payload; these keep it well under. */
const MAX_TITLE = 120;
const MAX_BODY = 1000;
const MAX_URL = 1000;
const SENT_KEPT_MS = 24 * 60 * 60 * 1000;

type Outcome = "delivered" | "gone" | "retry" | "refused";

interface Row {
  endpoint: string;
  p256dh: string;
  auth: string;
  expiration_time: number | null;
}

export async function sendPush(env: Bindings, userId: string, payload: PushPayload): Promise<PushResult> {
  const state = await vapidKeys(env);
  if (state.keys === null) throw new PermanentDelivery(`Web Push is not configured: ${state.reason}`);
  const vapid = state.keys;

  const { results: subscriptions } = await env.DB.prepare(
    `SELECT endpoint, p256dh, auth, expiration_time FROM push_subscriptions s WHERE user_id = ?1
       AND NOT EXISTS (SELECT 1 FROM push_sent p WHERE p.push_id = ?2 AND p.endpoint = s.endpoint)`,
  )
    .bind(userId, payload.id)
    .all<Row>();
  if (subscriptions.length === 0) return { delivered: 0, removed: 0 };

  const data = JSON.stringify(trimmed(payload));
  const topic = await topicOf(payload.id);
  const now = Date.now();
  let retryAfterS: number | undefined;
  const outcomes = await Promise.all(
    subscriptions.map(async (row): Promise<Outcome> => {
      if (row.expiration_time !== null && row.expiration_time <= now) return "gone";
      const subscription: PushSubscription = {
        endpoint: row.endpoint,
        expirationTime: row.expiration_time,
        keys: { p256dh: row.p256dh, auth: row.auth },
      };
      let request;
      try {
        request = await buildPushPayload({ data, options: { ttl: TTL_S, topic, urgency: "normal" } }, subscription, vapid);
      } catch (err) {
        // Keys that cannot encrypt (stored before they were checked): they never will.
        log.warn({ msg: "push subscription unusable", userId, error: err });
        return "gone";
      }
      let res: Response;
      try {
        res = await deliveryFetch("push service", row.endpoint, request);
      } catch (err) {
        log.warn({ msg: "push service unreachable", userId, host: new URL(row.endpoint).host, error: err });
        return "retry";
      }
      await res.body?.cancel();
      if (res.ok) return "delivered";
      if (res.status === 404 || res.status === 410) return "gone";
      if (res.status >= 500 || res.status === 429) {
        const after = Number(res.headers.get("retry-after"));
        if (Number.isFinite(after) && after > 0) retryAfterS = Math.max(retryAfterS ?? 0, after);
        log.warn({ msg: "push service failed", userId, host: new URL(row.endpoint).host, status: res.status });
        return "retry";
      }
      log.warn({ msg: "push refused", userId, host: new URL(row.endpoint).host, status: res.status });
      return "refused";
    }),
  );

  const endpointsWith = (outcome: Outcome) => subscriptions.filter((_, i) => outcomes[i] === outcome).map((s) => s.endpoint);
  const delivered = endpointsWith("delivered");
  const gone = endpointsWith("gone");
  const retry = endpointsWith("retry");

  const writes: D1PreparedStatement[] = [];
  if (gone.length > 0) {
    writes.push(env.DB.prepare("DELETE FROM push_subscriptions WHERE endpoint IN (SELECT value FROM json_each(?))").bind(JSON.stringify(gone)));
  }
  if (retry.length > 0 && delivered.length > 0) {
    const sentAt = new Date(now).toISOString();
    writes.push(
      env.DB.prepare(
        "INSERT INTO push_sent (push_id, endpoint, sent_at) SELECT ?1, value, ?2 FROM json_each(?3) WHERE true ON CONFLICT DO NOTHING",
      ).bind(payload.id, sentAt, JSON.stringify(delivered)),
      env.DB.prepare("DELETE FROM push_sent WHERE sent_at < ?").bind(new Date(now - SENT_KEPT_MS).toISOString()),
    );
  }
  if (writes.length > 0) await env.DB.batch(writes);

  if (retry.length > 0) {
    throw new RetryableDelivery(
      `push ${payload.id}: ${retry.length} of ${subscriptions.length} push services failed (${delivered.length} delivered, ${gone.length} removed)`,
      retryAfterS,
    );
  }
  return { delivered: delivered.length, removed: gone.length };
}

/** What the service worker receives (JSON): the payload, cut to fit one encrypted record. */
function trimmed(payload: PushPayload): PushPayload {
  return {
    id: payload.id,
    title: cut(payload.title, MAX_TITLE),
    body: cut(payload.body, MAX_BODY),
    ...(payload.roomId === undefined ? {} : { roomId: payload.roomId }),
    ...(payload.url === undefined || payload.url.length > MAX_URL ? {} : { url: payload.url }),
  };
}

function cut(text: string, max: number): string {
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, max - 1).join("")}…`;
}

/** RFC 8030 §5.4: at most 32 base64url characters; a digest keeps any id within that. */
async function topicOf(id: string): Promise<string> {
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(id))).slice(0, 32);
}
