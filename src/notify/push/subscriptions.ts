/**
 * Browsers' push subscriptions (`POST|DELETE /api/push/subscriptions`). An endpoint is one
 * browser profile: subscribing it again replaces its keys, and an endpoint another user held
 * moves to the caller (the browser changed hands). A user keeps at most
 * MAX_SUBSCRIPTIONS_PER_USER; a new one pushes out the oldest.
 */
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import * as z from "../../lib/zod";
import { pushSubscriptions } from "../../db/schema";
import { fromBase64url } from "../../lib/base64";

export const MAX_SUBSCRIPTIONS_PER_USER = 20;
const MAX_ENDPOINT_LENGTH = 2048;

function isPushEndpoint(value: string): boolean {
  if (value.length > MAX_ENDPOINT_LENGTH) return false;
  try {
    const url = new URL(value);
    // RFC 8030 push resources are https; credentials in one would be sent to whoever it names.
    return url.protocol === "https:" && url.username === "" && url.password === "" && url.hostname !== "";
  } catch {
    return false;
  }
}

/** p256dh must be a point on P-256, or every push to it would fail to encrypt. */
async function isP256Point(value: string): Promise<boolean> {
  const bytes = fromBase64url(value);
  if (bytes === null || bytes.byteLength !== 65 || bytes[0] !== 4) return false;
  try {
    await crypto.subtle.importKey("raw", bytes, { name: "ECDH", namedCurve: "P-256" }, false, []);
    return true;
  } catch {
    return false;
  }
}

const endpoint = z.string().check(z.refine(isPushEndpoint, `endpoint must be an https URL of at most ${MAX_ENDPOINT_LENGTH} characters`));

/** A browser's `PushSubscription.toJSON()`; fields it may add later are ignored. */
export const subscriptionInput = z.object({
  endpoint,
  expirationTime: z.optional(z.nullable(z.number().check(z.int(), z.nonnegative()))),
  keys: z.object({
    p256dh: z.string().check(z.maxLength(200), z.refine(isP256Point, "keys.p256dh must be an uncompressed P-256 point, base64url")),
    auth: z.string().check(
      z.refine((s) => fromBase64url(s)?.byteLength === 16, "keys.auth must be 16 bytes, base64url"),
    ),
  }),
});
export type SubscriptionInput = z.infer<typeof subscriptionInput>;

export const unsubscribeInput = z.object({ endpoint });

export type StoredSubscription = typeof pushSubscriptions.$inferSelect;

export async function saveSubscription(db: D1Database, userId: string, input: SubscriptionInput): Promise<void> {
  await db.batch([
    db
      .prepare(
        `INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, expiration_time, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth,
           expiration_time = excluded.expiration_time, created_at = excluded.created_at`,
      )
      .bind(input.endpoint, userId, input.keys.p256dh, input.keys.auth, input.expirationTime ?? null, new Date().toISOString()),
    db
      .prepare(
        `DELETE FROM push_subscriptions WHERE user_id = ?1 AND endpoint NOT IN (
           SELECT endpoint FROM push_subscriptions WHERE user_id = ?1 ORDER BY created_at DESC, endpoint LIMIT ?2)`,
      )
      .bind(userId, MAX_SUBSCRIPTIONS_PER_USER),
  ]);
}

/** Removes the caller's own subscription at `endpoint`; anyone else's stays. */
export async function removeSubscription(db: D1Database, userId: string, endpoint: string): Promise<void> {
  await drizzle(db)
    .delete(pushSubscriptions)
    .where(and(eq(pushSubscriptions.endpoint, endpoint), eq(pushSubscriptions.userId, userId)));
}

/** Every subscription of a user (account erasure); returns how many there were. */
export async function removeUserSubscriptions(db: D1Database, userId: string): Promise<number> {
  const result = await db.prepare("DELETE FROM push_subscriptions WHERE user_id = ?").bind(userId).run();
  return result.meta.changes ?? 0;
}

export async function subscriptionsOf(db: D1Database, userId: string): Promise<StoredSubscription[]> {
  return drizzle(db).select().from(pushSubscriptions).where(eq(pushSubscriptions.userId, userId));
}
