/** Global presence as GET /api/presence reads it from D1 (written by each user's object). */
import type { PresenceStatus } from "../protocol";

export interface PresenceEntry {
  id: string;
  status: PresenceStatus;
  lastSeen: string | null;
}

/**
 * The asked users who share a room with the caller (the caller included), in the order asked.
 * Members all share the community room; a visitor shares only their own room.
 */
export async function presenceOf(db: D1Database, callerId: string, userIds: string[]): Promise<PresenceEntry[]> {
  const { results } = await db
    .prepare(
      `SELECT u.value AS id, coalesce(p.status, 'offline') AS status, p.last_seen AS lastSeen
       FROM json_each(?1) u LEFT JOIN presence p ON p.user_id = u.value
       WHERE u.value = ?2 OR EXISTS (
         SELECT 1 FROM members mine JOIN members theirs ON theirs.room_id = mine.room_id
         WHERE mine.user_id = ?2 AND theirs.user_id = u.value)
       ORDER BY u.key`,
    )
    .bind(JSON.stringify(userIds), callerId)
    .all<PresenceEntry>();
  return results;
}
