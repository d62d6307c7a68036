/**
 * Unread counts reach only users with a device connected: while the first device is open the
 * user's object asks each of the user's rooms to report changes (a room keeps its watchers,
 * src/room/unread.ts), and when the last device closes it tells them to stop. Everyone else
 * reads their counts on demand (GET /api/rooms), so a message in a 1,000-member group costs a
 * report per connected member, not a write per member.
 */
import type { Bindings } from "../env";
import { log } from "../lib/log";

/** Rooms are asked a few at a time: a user may belong to hundreds. */
const CONCURRENCY = 8;

export interface RoomUnread {
  roomId: string;
  count: number;
}

/** The user's rooms and their unread counts as D1 has them (the room list's numbers). */
export async function unreadCounts(db: D1Database, userId: string): Promise<RoomUnread[]> {
  const { results } = await db
    .prepare(
      `SELECT m.room_id AS roomId, max(r.last_seq - m.last_read_seq, 0) AS count
       FROM members m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = ? AND r.kind != 'community'`,
    )
    .bind(userId)
    .all<RoomUnread>();
  return results;
}

/**
 * Starts or stops the rooms' reports to this user (`reportNow`: each room also reports its
 * current count). Failures are logged: a room that cannot be told now drops the watcher itself
 * when a report finds no device.
 */
export async function watchRooms(env: Bindings, userId: string, roomIds: string[], on: boolean, reportNow = false): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < roomIds.length) {
      const roomId = roomIds[next++]!;
      try {
        await env.ROOM.get(env.ROOM.idFromName(roomId)).watchUnread(roomId, userId, on, reportNow);
      } catch (error) {
        log.warn({ msg: "could not change a room's unread reports", roomId, userId, on, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, roomIds.length) }, worker));
}
