/** The long-term store in D1. Migrations in migrations/ are generated from this file. */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { Message, ReplyRef } from "../protocol";

export const users = sqliteTable("users", {
  id: text().primaryKey(),
  name: text().notNull(),
  kind: text({ enum: ["member", "visitor"] }).notNull(),
  createdAt: text("created_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
  updatedAt: text("updated_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
});

/** Written only by room flushes, idempotently by `id`; (room_id, seq) serves history pages. */
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
    replyTo: text("reply_to", { mode: "json" }).$type<ReplyRef>(),
    createdAt: text("created_at").notNull(),
    editedAt: text("edited_at"),
    deletedAt: text("deleted_at"),
  },
  (t) => [
    uniqueIndex("messages_room_seq").on(t.roomId, t.seq),
    index("messages_author").on(t.authorId, t.createdAt),
  ],
);

export type MessageRow = typeof messages.$inferSelect;

export const ROOM_KINDS = ["community", "direct", "group", "visitor"] as const;
export const ROLES = ["admin", "moderator", "member"] as const;
export type RoomKind = (typeof ROOM_KINDS)[number];
export type Role = (typeof ROLES)[number];

/**
 * One row per conversation. Written through by the room's Durable Object (the authority on
 * its own membership); `last_*` columns are brought up to date by each flush.
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
    lastMessage: text("last_message", { mode: "json" }).$type<Message>(),
    /** When the room last had a message (or was created): the room list's order. */
    lastActivityAt: text("last_activity_at").notNull(),
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
  },
  (t) => [primaryKey({ columns: [t.roomId, t.userId] }), index("members_user").on(t.userId, t.roomId)],
);
