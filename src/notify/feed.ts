/** The notifications in D1: written once per id by the consumer, read and changed by their owner only. */
import type { NotificationKind } from "../db/schema";
import type { Notification } from "../protocol";

export interface NewNotification extends Omit<Notification, "readAt"> {
  userId: string;
}

interface Row {
  seq: number;
  id: string;
  kind: NotificationKind;
  room_id: string | null;
  message_id: string | null;
  title: string;
  body: string;
  created_at: string;
  read_at: string | null;
}

const toNotification = (r: Row): Notification => ({
  id: r.id,
  kind: r.kind,
  roomId: r.room_id,
  messageId: r.message_id,
  title: r.title,
  body: r.body,
  createdAt: r.created_at,
  readAt: r.read_at,
});

/** Inserts what is new; an id already there (a retried event) is left as it is. */
export async function insertNotifications(db: D1Database, list: NewNotification[]): Promise<void> {
  if (list.length === 0) return;
  const insert = db.prepare(
    `INSERT INTO notifications (id, user_id, kind, room_id, message_id, title, body, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
  );
  await db.batch(list.map((n) => insert.bind(n.id, n.userId, n.kind, n.roomId, n.messageId, n.title, n.body, n.createdAt)));
}

export async function listNotifications(
  db: D1Database,
  userId: string,
  limit: number,
  before?: number,
): Promise<{ notifications: Notification[]; nextBefore: number | null }> {
  const { results } = await db
    .prepare(`SELECT * FROM notifications WHERE user_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`)
    .bind(userId, before ?? Number.MAX_SAFE_INTEGER, limit + 1)
    .all<Row>();
  const page = results.slice(0, limit);
  return { notifications: page.map(toNotification), nextBefore: results.length > limit ? page.at(-1)!.seq : null };
}

/** Marks the user's own notification read; false when they have none by that id. */
export async function markRead(db: D1Database, userId: string, id: string, at = new Date()): Promise<boolean> {
  const found = await db
    .prepare("UPDATE notifications SET read_at = coalesce(read_at, ?) WHERE id = ? AND user_id = ? RETURNING id")
    .bind(at.toISOString(), id, userId)
    .first();
  return found !== null;
}

export async function deleteNotification(db: D1Database, userId: string, id: string): Promise<boolean> {
  const result = await db.prepare("DELETE FROM notifications WHERE id = ? AND user_id = ?").bind(id, userId).run();
  return result.meta.changes > 0;
}

/** Account erasure: every notification of the user. */
export async function deleteUserNotifications(db: D1Database, userId: string): Promise<void> {
  await db.prepare("DELETE FROM notifications WHERE user_id = ?").bind(userId).run();
}
