/**
 * Rooms and memberships in D1. Rooms write their own rows here (write-through on membership
 * changes, progress and read positions on flush); the Worker reads them for room lists and
 * details, which span many rooms.
 */
import { and, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Identity, Message } from "../protocol";
import { fromD1Row, type MessageWithQuote } from "./messages";
import { members, rooms, users, type Role, type RoomKind } from "./schema";

export interface RoomView {
  id: string;
  kind: RoomKind;
  title: string | null;
  role: Role;
  lastMessage: Message | null;
  unread: number;
  lastActivityAt: string;
  slowModeSeconds: number;
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

/** A room's settings; only the fields given change. */
export async function updateRoom(d1: D1Database, roomId: string, patch: { title?: string; slowModeSeconds?: number }) {
  const set: Partial<typeof rooms.$inferInsert> = {};
  if (patch.title !== undefined) set.title = patch.title;
  if (patch.slowModeSeconds !== undefined) set.slowModeSeconds = patch.slowModeSeconds;
  if (Object.keys(set).length > 0) await drizzle(d1).update(rooms).set(set).where(eq(rooms.id, roomId));
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
 * Statements a flush adds to its batch: the room's newest seq and activity time, and members'
 * read positions. Plain D1 statements, as the flush writes its rows that way (see `Archive.write`).
 */
export function progressStatements(
  d1: D1Database,
  roomId: string,
  last: { seq: number; createdAt: string } | null,
  reads: { userId: string; seq: number }[],
) {
  const statements: D1PreparedStatement[] = [];
  if (last) {
    statements.push(
      d1
        .prepare("UPDATE rooms SET last_seq = ?1, last_activity_at = ?2 WHERE id = ?3 AND last_seq < ?1")
        .bind(last.seq, last.createdAt, roomId),
    );
  }
  if (reads.length > 0) statements.push(readStatement(d1, roomId, reads));
  return statements;
}

/**
 * Members' read positions as one statement over a JSON list (a busy room flushes many at once).
 * In a visitor room a reader without a row is staff (the room let them read): they get a row
 * here, which holds their read position for the room list and grants nothing by itself. In
 * other rooms only existing rows move, so a removed member's position never brings them back.
 */
export function readStatement(d1: D1Database, roomId: string, reads: { userId: string; seq: number }[]) {
  return d1
    .prepare(
      `INSERT INTO members (room_id, user_id, role, joined_at, last_read_seq)
       SELECT ?1, j.value ->> 0, 'admin', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), j.value ->> 1 FROM json_each(?2) AS j
       WHERE EXISTS (SELECT 1 FROM members x WHERE x.room_id = ?1 AND x.user_id = j.value ->> 0)
          OR EXISTS (SELECT 1 FROM rooms r WHERE r.id = ?1 AND r.kind = 'visitor')
       ON CONFLICT (room_id, user_id) DO UPDATE SET last_read_seq = max(last_read_seq, excluded.last_read_seq)`,
    )
    .bind(roomId, JSON.stringify(reads.map((r) => [r.userId, r.seq])));
}

/**
 * Archives the room for one member, or (at = null) brings it back. Returns whether they are a
 * member. Staff archive visitor rooms they have no row in yet: the row is made here.
 */
export async function setArchived(d1: D1Database, roomId: string, viewer: Viewer, at: string | null): Promise<boolean> {
  const statement = isStaff(viewer)
    ? d1
        .prepare(
          `INSERT INTO members (room_id, user_id, role, joined_at, archived_at)
           SELECT r.id, ?2, 'admin', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?3 FROM rooms r WHERE r.id = ?1 AND r.kind = 'visitor'
           ON CONFLICT (room_id, user_id) DO UPDATE SET archived_at = excluded.archived_at`,
        )
        .bind(roomId, viewer.id, at)
    : null;
  if (statement && (await statement.run()).meta.changes > 0) return true;
  const result = await d1
    .prepare("UPDATE members SET archived_at = ?3 WHERE room_id = ?1 AND user_id = ?2")
    .bind(roomId, viewer.id, at)
    .run();
  return result.meta.changes > 0;
}

export interface ListCursor {
  at: string;
  id: string;
}

/** Who a room list is for: the staff role adds every visitor room. */
export type Viewer = Pick<Identity, "id" | "kind" | "roles">;
const isStaff = (viewer: Viewer) => viewer.kind === "member" && viewer.roles?.includes("staff") === true;

/**
 * The viewer's rooms (`m`): their member rows, plus, with `staffRooms`, every visitor room they
 * have no row in yet (as admin, nothing read). `filter` narrows both parts alike; `staffLimit`
 * bounds the visitor-room part, which the rooms_kind index walks newest first.
 */
function mine(staffRooms: boolean, filter: { members: string; rooms: string }, staffLimit = ""): string {
  const rows = `SELECT room_id, user_id, role, last_read_seq, archived_at FROM members WHERE user_id = ?1 ${filter.members}`;
  if (!staffRooms) return rows;
  return `${rows}
    UNION ALL
    SELECT * FROM (
      SELECT r.id, ?1, 'admin', 0, NULL FROM rooms r
      WHERE r.kind = 'visitor' ${filter.rooms}
        AND NOT EXISTS (SELECT 1 FROM members x WHERE x.room_id = r.id AND x.user_id = ?1)
      ORDER BY r.last_activity_at DESC, r.id DESC ${staffLimit})`;
}

/** A member who is not staff never sees a visitor room, even with a row from when they were. */
const visible = (viewer: Viewer) => (viewer.kind === "member" && !isStaff(viewer) ? "AND r.kind <> 'visitor'" : "");

// The last message is read from `messages` by (room, last_seq), so an edit or delete shows here
// as soon as it is flushed; `q` is the row it quotes.
const viewSelect = (source: string) => `
  WITH m AS (${source})
  SELECT r.id, r.kind, r.title, m.role, r.last_activity_at AS lastActivityAt, r.slow_mode_seconds AS slowModeSeconds,
         max(r.last_seq - m.last_read_seq, 0) AS unread,
         CASE WHEN r.kind = 'direct' THEN (
           SELECT u.name FROM members o JOIN users u ON u.id = o.user_id
           WHERE o.room_id = r.id AND o.user_id <> m.user_id LIMIT 1
         ) END AS peerName,
         lm.id AS lm_id, lm.seq AS lm_seq, lm.client_id AS lm_client_id, lm.author_id AS lm_author_id,
         lm.author_name AS lm_author_name, lm.text AS lm_text, lm.created_at AS lm_created_at,
         lm.edited_at AS lm_edited_at, lm.deleted_at AS lm_deleted_at, lm.reactions AS lm_reactions,
         lm.attachments AS lm_attachments, lm.reply_to_id AS lm_reply_to_id, lm.rev AS lm_rev,
         q.author_id AS q_author_id, q.author_name AS q_author_name, q.text AS q_text, q.deleted_at AS q_deleted_at
  FROM m JOIN rooms r ON r.id = m.room_id
  LEFT JOIN messages lm ON lm.room_id = r.id AND lm.seq = r.last_seq
  LEFT JOIN messages q ON q.id = lm.reply_to_id`;

/** Archived rooms stay out of the list until a message newer than the archiving arrives. */
const ARCHIVED = "(m.archived_at IS NOT NULL AND r.last_activity_at <= m.archived_at)";

type ViewRow = Omit<RoomView, "lastMessage"> & { peerName: string | null } & {
  [K in keyof MessageWithQuote as K extends `q_${string}` ? K : `lm_${K}`]: MessageWithQuote[K] | null;
};

function toView(row: ViewRow): RoomView {
  const { id, kind, title, role, unread, lastActivityAt, peerName, slowModeSeconds } = row;
  return {
    id,
    kind,
    // A direct room is titled with the other person's name.
    title: kind === "direct" ? peerName : title,
    role,
    lastMessage: row.lm_id === null ? null : fromD1Row(lastMessageRow(row)),
    unread,
    lastActivityAt,
    slowModeSeconds,
  };
}

function lastMessageRow(row: ViewRow): MessageWithQuote {
  const out: Record<string, unknown> = { room_id: row.id };
  for (const [k, v] of Object.entries(row)) {
    if (k.startsWith("lm_")) out[k.slice(3)] = v;
    else if (k.startsWith("q_")) out[k] = v;
  }
  return out as unknown as MessageWithQuote;
}

/**
 * The caller's rooms, newest activity first: one query however many rooms they have. For staff
 * that includes every visitor room (unread from their own read position once they have one,
 * else everything); archived ones only with a row, as archiving makes one.
 */
export async function listRooms(
  d1: D1Database,
  viewer: Viewer,
  limit: number,
  after?: ListCursor,
  archived = false,
): Promise<RoomView[]> {
  const page = "AND (?2 IS NULL OR (r.last_activity_at, r.id) < (?2, ?3))";
  // Rooms without a row are never archived, so the archived list needs only rows.
  const source = mine(isStaff(viewer) && !archived, { members: "", rooms: page }, "LIMIT ?4");
  const rows = await d1
    .prepare(
      `${viewSelect(source)}
       WHERE (?2 IS NULL OR (r.last_activity_at, r.id) < (?2, ?3)) AND ${archived ? "" : "NOT "}${ARCHIVED} ${visible(viewer)}
       ORDER BY r.last_activity_at DESC, r.id DESC
       LIMIT ?4`,
    )
    .bind(viewer.id, after?.at ?? null, after?.id ?? null, limit)
    .all<ViewRow>();
  return rows.results.map(toView);
}

/** One room as the given viewer sees it in lists (staff: any visitor room). */
export async function roomView(d1: D1Database, viewer: Viewer, roomId: string): Promise<RoomView | null> {
  const source = mine(isStaff(viewer), { members: "AND room_id = ?2", rooms: "AND r.id = ?2" });
  const row = await d1.prepare(`${viewSelect(source)} WHERE r.id = ?2 ${visible(viewer)}`).bind(viewer.id, roomId).first<ViewRow>();
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
