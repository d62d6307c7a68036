/**
 * Global presence: online while any of the user's sockets (a device here, or a socket in any
 * room) says so, away when all say away, offline after the last one closes. Rooms report the
 * user's status in them; what they reported is kept in this object's storage so it outlives
 * hibernation. A change is written to D1 (`presence`), which GET /api/presence reads.
 */
import type { PresenceStatus } from "../protocol";

const SCHEMA = `CREATE TABLE IF NOT EXISTS room_status (room_id TEXT PRIMARY KEY, status TEXT NOT NULL) WITHOUT ROWID;`;

export class Presence {
  private readonly rooms = new Map<string, "online" | "away">();
  private last: PresenceStatus | null = null;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
    for (const r of sql.exec<{ room_id: string; status: "online" | "away" }>("SELECT room_id, status FROM room_status")) {
      this.rooms.set(r.room_id, r.status);
    }
  }

  /** A room's report of the user's status there. */
  setRoom(roomId: string, status: PresenceStatus): void {
    if (status === "offline") {
      if (this.rooms.delete(roomId)) this.sql.exec("DELETE FROM room_status WHERE room_id = ?", roomId);
    } else if (this.rooms.get(roomId) !== status) {
      this.rooms.set(roomId, status);
      this.sql.exec("INSERT OR REPLACE INTO room_status (room_id, status) VALUES (?, ?)", roomId, status);
    }
  }

  clear(): void {
    this.rooms.clear();
    this.sql.exec("DELETE FROM room_status");
    this.last = null;
  }

  /** Whether any socket of the user is open anywhere. */
  connected(devices: PresenceStatus): boolean {
    return devices !== "offline" || this.rooms.size > 0;
  }

  combined(devices: PresenceStatus): PresenceStatus {
    if (devices === "online") return "online";
    let status: PresenceStatus = devices;
    for (const s of this.rooms.values()) {
      if (s === "online") return "online";
      status = "away";
    }
    return status;
  }

  /** The status to write to D1 when it differs from the last one written by this object, else null. */
  changed(devices: PresenceStatus): PresenceStatus | null {
    const now = this.combined(devices);
    if (now === this.last) return null;
    this.last = now;
    return now;
  }
}

/** Writes the user's status; lastSeen is when they were last connected (now, unless offline for a while). */
export async function writePresence(db: D1Database, userId: string, status: PresenceStatus, at = new Date()): Promise<void> {
  await db
    .prepare(
      `INSERT INTO presence (user_id, status, last_seen) VALUES (?1, ?2, ?3)
       ON CONFLICT (user_id) DO UPDATE SET status = ?2, last_seen = ?3`,
    )
    .bind(userId, status, at.toISOString())
    .run();
}
