/** The long-term store in D1. Migrations in migrations/ are generated from this file. */
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { ReplyRef } from "../protocol";

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
