/**
 * Rooms and memberships in D1. Rooms write their own rows here (write-through on membership
 * changes, progress and read positions on flush); the Worker reads them for room lists and
 * details, which span many rooms.
 */
import { and, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Message } from "../protocol";
import { members, rooms, users, type Role, type RoomKind } from "./schema";

export interface RoomView {
  id: string;
  kind: RoomKind;
  title: string | null;
  role: Role;
  lastMessage: Message | null;
  unread: number;
  lastActivityAt: string;
}

export interface NewRoom {
  id: string;
  kind: RoomKind;
  title: string | null;
  createdBy: string | null;
  createdAt: string;
}

export async function insertRoom(d1: D1Database, room: NewRoom, roster: { id: string; role: Role }[]) {
  const db = drizzle(d1);
  await db.batch([
    db.insert(rooms).values({ ...room, lastActivityAt: room.createdAt }).onConflictDoNothing(),
    ...roster.map((m) =>
      db
        .insert(members)
        .values({ roomId: room.id, userId: m.id, role: m.role, joinedAt: room.createdAt })
        .onConflictDoUpdate({ target: [members.roomId, members.userId], set: { role: m.role } }),
    ),
  ]);
}

export async function putMember(d1: D1Database, roomId: string, userId: string, role: Role) {
  await drizzle(d1)
    .insert(members)
    .values({ roomId, userId, role, joinedAt: new Date().toISOString() })
    .onConflictDoUpdate({ target: [members.roomId, members.userId], set: { role } });
}

export async function deleteMember(d1: D1Database, roomId: string, userId: string) {
  await drizzle(d1)
    .delete(members)
    .where(and(eq(members.roomId, roomId), eq(members.userId, userId)));
}

/**
 * Statements a flush adds to its batch: the room's newest message, and members' read
 * positions as one statement over a JSON list (a busy room flushes many at once). Plain D1
 * statements, as the flush writes its rows that way (see `Archive.write`).
 */
export function progressStatements(d1: D1Database, roomId: string, last: Message | null, reads: { userId: string; seq: number }[]) {
  const statements: D1PreparedStatement[] = [];
  if (last) {
    statements.push(
      d1
        .prepare("UPDATE rooms SET last_seq = ?1, last_message = ?2, last_activity_at = ?3 WHERE id = ?4 AND last_seq <= ?1")
        .bind(last.seq, JSON.stringify(last), last.createdAt, roomId),
    );
  }
  if (reads.length > 0) {
    statements.push(
      d1
        .prepare(
          `UPDATE members SET last_read_seq = max(last_read_seq, j.value ->> 1)
           FROM json_each(?2) AS j WHERE members.room_id = ?1 AND members.user_id = j.value ->> 0`,
        )
        .bind(roomId, JSON.stringify(reads.map((r) => [r.userId, r.seq]))),
    );
  }
  return statements;
}

export interface ListCursor {
  at: string;
  id: string;
}

const VIEW_SELECT = `
  SELECT r.id, r.kind, r.title, m.role, r.last_message AS lastMessage, r.last_activity_at AS lastActivityAt,
         max(r.last_seq - m.last_read_seq, 0) AS unread,
         CASE WHEN r.kind = 'direct' THEN (
           SELECT u.name FROM members o JOIN users u ON u.id = o.user_id
           WHERE o.room_id = r.id AND o.user_id <> m.user_id LIMIT 1
         ) END AS peerName
  FROM members m JOIN rooms r ON r.id = m.room_id`;

type ViewRow = Omit<RoomView, "lastMessage"> & { lastMessage: string | null; peerName: string | null };

function toView({ peerName, lastMessage, ...r }: ViewRow): RoomView {
  return {
    ...r,
    // A direct room is titled with the other person's name.
    title: r.kind === "direct" ? peerName : r.title,
    lastMessage: lastMessage ? (JSON.parse(lastMessage) as Message) : null,
  };
}

/** The caller's rooms, newest activity first: one query however many rooms they have. */
export async function listRooms(d1: D1Database, userId: string, limit: number, after?: ListCursor): Promise<RoomView[]> {
  const rows = await d1
    .prepare(
      `${VIEW_SELECT}
       WHERE m.user_id = ?1 AND (?2 IS NULL OR (r.last_activity_at, r.id) < (?2, ?3))
       ORDER BY r.last_activity_at DESC, r.id DESC
       LIMIT ?4`,
    )
    .bind(userId, after?.at ?? null, after?.id ?? null, limit)
    .all<ViewRow>();
  return rows.results.map(toView);
}

/** One room as the given member sees it in lists. */
export async function roomView(d1: D1Database, userId: string, roomId: string): Promise<RoomView | null> {
  const row = await d1.prepare(`${VIEW_SELECT} WHERE m.user_id = ?1 AND r.id = ?2`).bind(userId, roomId).first<ViewRow>();
  return row ? toView(row) : null;
}

export async function roomMembers(d1: D1Database, roomId: string, limit = 500) {
  return drizzle(d1)
    .select({ id: members.userId, name: users.name, role: members.role })
    .from(members)
    .innerJoin(users, eq(users.id, members.userId))
    .where(eq(members.roomId, roomId))
    .orderBy(users.name)
    .limit(limit);
}

/** Community admins, who look after visitors when no staff list is configured. */
export async function communityAdmins(d1: D1Database) {
  return drizzle(d1)
    .select({ id: members.userId, name: users.name, kind: users.kind })
    .from(members)
    .innerJoin(users, eq(users.id, members.userId))
    .where(and(eq(members.roomId, "community"), eq(members.role, "admin")));
}
