/** The long-term store in D1. Migrations in migrations/ are generated from this file. */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { AttachmentRef } from "../protocol";

export const users = sqliteTable("users", {
  id: text().primaryKey(),
  name: text().notNull(),
  kind: text({ enum: ["member", "visitor"] }).notNull(),
  /** Where notification emails go: the token's `email` claim, when it had one (src/lib/jwt.ts). */
  email: text(),
  createdAt: text("created_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
  updatedAt: text("updated_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
});

/**
 * Written only by room flushes, idempotently by `id`; (room_id, seq) serves history pages.
 * `rev` is the room's revision of the row: a flush never replaces a newer revision with an
 * older one. Replies keep only the id of what they quote; the quote is read from that row, so
 * an edit or a delete changes every quote of it at once.
 */
export const messages = sqliteTable(
  "messages",
  {
    id: text().primaryKey(),
    roomId: text("room_id").notNull(),
    seq: integer().notNull(),
    clientId: text("client_id"),
    authorId: text("author_id").notNull(),
    authorName: text("author_name").notNull(),
    text: text().notNull(),
    replyToId: text("reply_to_id"),
    createdAt: text("created_at").notNull(),
    editedAt: text("edited_at"),
    deletedAt: text("deleted_at"),
    /** `{ emoji: [userId, ...] }` */
    reactions: text({ mode: "json" }).$type<Record<string, string[]>>(),
    attachments: text({ mode: "json" }).$type<AttachmentRef[]>(),
    rev: integer().notNull().default(1),
  },
  (t) => [
    uniqueIndex("messages_room_seq").on(t.roomId, t.seq),
    index("messages_author").on(t.authorId, t.createdAt),
    // Retention removes the oldest rows in bounded batches, and the admin stats count the last
    // hour's messages: both walk this index instead of the table.
    index("messages_created").on(t.createdAt),
  ],
);

export type MessageRow = typeof messages.$inferSelect;

export const ROOM_KINDS = ["community", "direct", "group", "visitor"] as const;
export const ROLES = ["admin", "moderator", "member"] as const;
export type RoomKind = (typeof ROOM_KINDS)[number];
export type Role = (typeof ROLES)[number];

/**
 * One row per conversation. Written through by the room's Durable Object (the authority on
 * its own membership); `last_seq` and `last_activity_at` are brought up to date by each flush; the room list reads
 * the last message itself from `messages` by (id, last_seq), so it is never a stale copy.
 */
export const rooms = sqliteTable(
  "rooms",
  {
    id: text().primaryKey(),
    kind: text({ enum: ROOM_KINDS }).notNull(),
    title: text(),
    createdBy: text("created_by"),
    createdAt: text("created_at").notNull(),
    lastSeq: integer("last_seq").notNull().default(0),
    /** When the room last had a message (or was created): the room list's order. */
    lastActivityAt: text("last_activity_at").notNull(),
    /** Slow mode: each plain member may send once per this many seconds; 0 is off. */
    slowModeSeconds: integer("slow_mode_seconds").notNull().default(0),
  },
  (t) => [index("rooms_kind").on(t.kind, t.lastActivityAt)],
);

export const members = sqliteTable(
  "members",
  {
    roomId: text("room_id").notNull(),
    userId: text("user_id").notNull(),
    role: text({ enum: ROLES }).notNull(),
    joinedAt: text("joined_at").notNull(),
    /** The highest seq this member has read: unread = rooms.last_seq - last_read_seq. */
    lastReadSeq: integer("last_read_seq").notNull().default(0),
    /** Set while the member has archived the room; a message newer than this brings it back. */
    archivedAt: text("archived_at"),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.userId] }), index("members_user").on(t.userId, t.roomId)],
);

/**
 * Uploaded files (the bytes live in R2 under `id`). An upload belongs to its owner and the room
 * it was uploaded to; a send claims it with its clientId, so a resend of that send claims it
 * again. Uploads nobody claimed are removed after a day.
 */
export const attachments = sqliteTable(
  "attachments",
  {
    id: text().primaryKey(),
    roomId: text("room_id").notNull(),
    ownerId: text("owner_id").notNull(),
    name: text().notNull(),
    size: integer().notNull(),
    mimeType: text("mime_type").notNull(),
    width: integer(),
    height: integer(),
    createdAt: text("created_at").notNull(),
    /** The clientId of the send that references it; null while unclaimed. */
    clientId: text("client_id"),
    claimedAt: text("claimed_at"),
  },
  (t) => [
    index("attachments_room").on(t.roomId),
    index("attachments_unclaimed").on(t.createdAt).where(sql`client_id IS NULL`),
  ],
);

export type AttachmentRow = typeof attachments.$inferSelect;

export const NOTIFICATION_KINDS = ["dm", "mention", "reply", "added", "visitor", "broadcast"] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/**
 * The in-app feed (GET /api/notifications). `id` is derived from the event and the user
 * (src/notify/ids.ts), so a retried event inserts nothing new; `seq` orders the feed and is
 * its page cursor.
 */
export const notifications = sqliteTable(
  "notifications",
  {
    seq: integer().primaryKey({ autoIncrement: true }),
    id: text().notNull(),
    userId: text("user_id").notNull(),
    kind: text({ enum: NOTIFICATION_KINDS }).notNull(),
    roomId: text("room_id"),
    messageId: text("message_id"),
    title: text().notNull(),
    body: text().notNull(),
    createdAt: text("created_at").notNull(),
    readAt: text("read_at"),
  },
  (t) => [uniqueIndex("notifications_id").on(t.id), index("notifications_user").on(t.userId, t.seq)],
);

/**
 * Global presence, written by each user's object when it changes (src/user/), so
 * GET /api/presence answers up to 100 users in one query.
 */
export const presence = sqliteTable("presence", {
  userId: text("user_id").primaryKey(),
  status: text({ enum: ["online", "away", "offline"] }).notNull(),
  lastSeen: text("last_seen"),
});

// ---- Notification channels (src/notify/, docs/notifications.md) -------------------------

export const EMAIL_MODES = ["off", "instant", "daily"] as const;
export type EmailMode = (typeof EMAIL_MODES)[number];

/**
 * A user's choice of channels; no row means the defaults (src/notify/preferences.ts). Muted
 * rooms are a JSON list: they are read with the rest of the row, never queried on their own.
 */
export const notificationPreferences = sqliteTable("notification_preferences", {
  userId: text("user_id").primaryKey(),
  inApp: integer("in_app", { mode: "boolean" }).notNull(),
  email: text({ enum: EMAIL_MODES }).notNull(),
  push: integer({ mode: "boolean" }).notNull(),
  mutedRooms: text("muted_rooms", { mode: "json" }).$type<string[]>().notNull(),
  updatedAt: text("updated_at").notNull(),
});

/**
 * The local email provider: every email written here instead of sent, once per id (a retried
 * delivery writes nothing new). Dev mode lists them at GET /api/dev/outbox.
 */
export const emailOutbox = sqliteTable(
  "email_outbox",
  {
    id: text().primaryKey(),
    from: text("from_addr").notNull(),
    to: text("to_addr").notNull(),
    subject: text().notNull(),
    text: text().notNull(),
    html: text(),
    headers: text({ mode: "json" }).$type<Record<string, string>>().notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("email_outbox_created").on(t.createdAt)],
);

/** Browsers' Web Push subscriptions; an endpoint belongs to one user at a time. */
export const pushSubscriptions = sqliteTable(
  "push_subscriptions",
  {
    endpoint: text().primaryKey(),
    userId: text("user_id").notNull(),
    p256dh: text().notNull(),
    auth: text().notNull(),
    /** Milliseconds since the epoch, as the browser gave it; null: no expiry. */
    expirationTime: integer("expiration_time"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("push_subscriptions_user").on(t.userId, t.createdAt)],
);

/**
 * Subscriptions a push already reached, kept only when another subscription of the same push
 * failed and the push will be retried: the retry skips these. Rows older than a day go when
 * the next such row is written.
 */
export const pushSent = sqliteTable(
  "push_sent",
  {
    pushId: text("push_id").notNull(),
    endpoint: text().notNull(),
    sentAt: text("sent_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.pushId, t.endpoint] }), index("push_sent_at").on(t.sentAt)],
);

/** Keys dev mode makes for itself once (the VAPID pair), so they survive restarts. */
export const devKeys = sqliteTable("dev_keys", {
  name: text().primaryKey(),
  value: text({ mode: "json" }).$type<Record<string, string>>().notNull(),
  createdAt: text("created_at").notNull(),
});
/**
 * Webhooks (src/webhooks/, docs/webhooks.md): where to POST which events. `secret` is the
 * Standard Webhooks signing key (`whsec_<base64>`), kept as is because signing needs it; the
 * API shows it once, when the webhook is made. Nothing here names a user, so erasure skips it.
 */
export const webhooks = sqliteTable("webhooks", {
  id: text().primaryKey(),
  url: text().notNull(),
  /** The event types it subscribes to, a JSON array without duplicates. */
  events: text({ mode: "json" }).notNull().$type<string[]>(),
  secret: text().notNull(),
  createdAt: text("created_at").notNull(),
});

export const DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;

/**
 * One row per (event, webhook): what makes a delivery happen at most once however often its
 * queue message arrives. A consumer claims a pending row (`claimed_until`, a lease in ms since
 * the epoch) before it POSTs, so two copies of one delivery never POST at the same time, and
 * marks it delivered or failed after. Rows are pruned after DELIVERY_RETENTION_DAYS.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    eventId: text("event_id").notNull(),
    webhookId: text("webhook_id").notNull(),
    status: text({ enum: DELIVERY_STATUSES }).notNull(),
    /** POSTs begun, across all copies of the queue message. */
    attempts: integer().notNull().default(0),
    claimedUntil: integer("claimed_until"),
    /** The receiver's last HTTP status; null after a network error or timeout. */
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    deliveredAt: text("delivered_at"),
  },
  (t) => [
    primaryKey({ columns: [t.eventId, t.webhookId] }),
    // Deleting a webhook removes its rows; pruning removes old ones.
    index("webhook_deliveries_webhook").on(t.webhookId),
    index("webhook_deliveries_created").on(t.createdAt),
  ],
);
