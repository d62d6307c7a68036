/**
 * The events queue's consumer: room events go to the webhooks and become notifications, which
 * go on to Web Push and (a minute later) email; broadcasts reach their users page by page; the
 * daily digest runs here too. A message that fails is retried with backoff and, after the
 * queue's max_retries, goes to the dead-letter queue. Retries are harmless: every notification
 * id derives from its event, and each channel remembers what it delivered.
 */
import type { Bindings } from "../env";
import { log } from "../lib/log";
import type { BroadcastMessage, EventMessage, RoomEventMessage } from "./events";
import { notificationId } from "./ids";
import { notify, onlineAmong, withEmailAmong, type Notified } from "./notify";
import { digestEmail, digestPage, instantEmail, queueInstant } from "./mail";
import { sendPush } from "./push/send";
import { PermanentDelivery } from "./errors";
import { isWebhookEventType, publishEvent } from "../webhooks";

/** Members a broadcast reaches per queue message; the rest follow in the next one. */
export const BROADCAST_PAGE = 500;

export async function consumeEvents(batch: MessageBatch<EventMessage>, env: Bindings): Promise<void> {
  for (const message of batch.messages) {
    try {
      await handle(env, message.body);
      message.ack();
    } catch (error) {
      if (error instanceof PermanentDelivery) {
        // A setting that cannot work, or a refusal for good: retrying cannot help.
        log.warn({ msg: "not delivered", kind: message.body.kind, reason: error.message });
        message.ack();
        continue;
      }
      const delaySeconds = Math.min(10 * 2 ** (message.attempts - 1), 600);
      log.error({ msg: "event failed; retrying", attempts: message.attempts, delaySeconds, error });
      message.retry({ delaySeconds });
    }
  }
}

export function handle(env: Bindings, body: EventMessage): Promise<void> {
  switch (body.kind) {
    case "room":
      return roomEvent(env, body);
    case "broadcast":
      return broadcast(env, body);
    case "email":
      return instantEmail(env, body);
    case "digests":
      return digestPage(env, body);
    case "digest":
      return digestEmail(env, body);
  }
}

async function roomEvent(env: Bindings, body: RoomEventMessage): Promise<void> {
  const list = await Promise.all(
    body.notify.map(async (r) => ({
      id: await notificationId(body.event.id, r.userId),
      userId: r.userId,
      kind: r.kind,
      roomId: body.roomId,
      messageId: body.messageId,
      title: r.title,
      body: r.body,
      createdAt: body.event.createdAt,
      ...(r.unverified ? { unverified: true as const } : {}),
    })),
  );
  if (isWebhookEventType(body.event.type)) await publishEvent(env, body.event);
  await channels(env, await notify(env, list));
}

/** The channels beyond the app: Web Push now, email a minute later (src/notify/mail.ts). */
async function channels(env: Bindings, notified: Notified): Promise<void> {
  await pushTo(env, notified);
  const { kept, prefs } = notified;
  const instant = kept.filter((n) => prefs.get(n.userId)?.email === "instant");
  if (instant.length === 0) return;
  const reachable = await withEmailAmong(env.DB, instant.map((n) => n.userId));
  await queueInstant(env, instant.filter((n) => reachable.has(n.userId)));
}

/**
 * Web Push for users who chose it and have no socket online anywhere (an open app already
 * showed the notification). A push that fails for a retryable reason throws, so the whole
 * event is retried: the feed and the live frames ignore the repeat, and `sendPush` skips the
 * subscriptions an earlier attempt reached.
 */
async function pushTo(env: Bindings, { kept, prefs }: Notified): Promise<void> {
  const wanting = kept.filter((n) => prefs.get(n.userId)?.push !== false);
  if (wanting.length === 0) return;
  const online = await onlineAmong(env.DB, wanting.map((n) => n.userId));
  await Promise.all(
    wanting
      .filter((n) => !online.has(n.userId))
      .map((n) =>
        sendPush(env, n.userId, { id: n.id, title: n.title, body: n.body, ...(n.roomId ? { roomId: n.roomId, url: `/#${encodeURIComponent(n.roomId)}` } : {}) }).catch(
          (error: unknown) => {
            // Not configured, or refused for good: retrying cannot help, and the feed has it.
            if (!(error instanceof PermanentDelivery)) throw error;
            log.warn({ msg: "push not delivered", userId: n.userId, reason: error.message });
          },
        ),
      ),
  );
}

async function broadcast(env: Bindings, body: BroadcastMessage): Promise<void> {
  let userIds = body.userIds;
  if (userIds === null) {
    const { results } = await env.DB.prepare("SELECT id FROM users WHERE kind = 'member' AND id > ? ORDER BY id LIMIT ?")
      .bind(body.after ?? "", BROADCAST_PAGE)
      .all<{ id: string }>();
    userIds = results.map((r) => r.id);
    // The next page goes first: if this one fails and is retried, the next is already on its way (ids make both idempotent).
    if (results.length === BROADCAST_PAGE) await env.EVENTS.send({ ...body, after: userIds.at(-1)! } satisfies BroadcastMessage);
  }
  const list = await Promise.all(
    userIds.map(async (userId) => ({
      id: await notificationId(body.id, userId),
      userId,
      kind: "broadcast" as const,
      roomId: null,
      messageId: null,
      title: body.title,
      body: body.body,
      createdAt: body.createdAt,
      // Listed by the admin: only ids that are users get one.
      ...(body.userIds !== null ? { unverified: true as const } : {}),
    })),
  );
  await channels(env, await notify(env, list, { liveOnlyIfPresent: userIds.length > 100 }));
}
