/**
 * What leaves a room through its event outbox (src/room/events.ts) for the events queue, and
 * what the admin broadcast puts there. The room decides who is to be notified, since only it
 * knows its members and who is looking at it right now; the consumer (src/notify/consumer.ts)
 * applies each user's preferences, writes the feed and hands out the channels.
 */
import type { Message, NotificationKind } from "../protocol";
import type { WebhookEvent, WebhookEventType } from "../webhooks";

export type EventType = WebhookEventType;

/** The Standard Webhooks body: `id` is stable, so a retried event is the same event. */
export type ChatEvent = WebhookEvent;

/** One notification to create: for whom, why, and what it says. */
export interface Recipient {
  userId: string;
  kind: NotificationKind;
  title: string;
  body: string;
  /** An @id in the community the room could not check: notified only if such a user exists. */
  unverified?: true;
}

export interface RoomEventMessage {
  kind: "room";
  roomId: string;
  event: ChatEvent;
  /** The message the notifications point at (none for membership events). */
  messageId: string | null;
  notify: Recipient[];
}

export interface BroadcastMessage {
  kind: "broadcast";
  /** The broadcast's id; each user's notification id derives from it. */
  id: string;
  title: string;
  body: string;
  createdAt: string;
  /** The listed users, or null for every member (paged by the consumer from `after`). */
  userIds: string[] | null;
  after?: string;
}

/** An instant email to consider once the user had a minute to see the notification (src/notify/mail.ts). */
export interface EmailMessage {
  kind: "email";
  notificationId: string;
  userId: string;
}

/** A daily digest run, paging through the users who chose one from `after`. */
export interface DigestsMessage {
  kind: "digests";
  /** The run's day (YYYY-MM-DD): one digest per user per day. */
  day: string;
  /** Notifications since then are in it. */
  since: string;
  after?: string;
}

export interface DigestMessage {
  kind: "digest";
  userId: string;
  day: string;
  since: string;
}

export type EventMessage = RoomEventMessage | BroadcastMessage | EmailMessage | DigestsMessage | DigestMessage;

/** A message as events carry it: what a webhook receiver needs, without the room's bookkeeping. */
export function eventMessage(m: Message) {
  const { id, roomId, seq, clientId, author, text, createdAt, editedAt, deletedAt, replyTo, attachments } = m;
  return { id, roomId, seq, clientId, author, text, createdAt, editedAt, deletedAt, replyTo: replyTo?.id ?? null, attachments };
}
