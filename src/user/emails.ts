/**
 * Which notifications were emailed to this user, and when each room last got an instant email:
 * at most one instant email per room per `ROOM_GAP_MS`, decided here in one step so two
 * notifications of a room arriving together cannot both take the slot. A retried delivery of a
 * notification that already holds the slot keeps it, so a failed send can be tried again.
 */
export const ROOM_GAP_MS = 10 * 60_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS email_slots (room_id TEXT PRIMARY KEY, at INTEGER NOT NULL, notification_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS emails_sent (id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
`;
const KEEP_SENT_MS = 7 * 24 * 3600_000;

export type SlotVerdict = "take" | "sent" | "throttled";

export class EmailLedger {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  /** Whether this notification may be emailed now (its room's slot is free or already its own). */
  claim(roomKey: string, notificationId: string, now = Date.now()): SlotVerdict {
    if (this.sql.exec("SELECT 1 FROM emails_sent WHERE id = ?", notificationId).toArray().length > 0) return "sent";
    const slot = this.sql.exec<{ at: number; notification_id: string }>("SELECT at, notification_id FROM email_slots WHERE room_id = ?", roomKey).toArray()[0];
    if (slot && slot.notification_id !== notificationId && now - slot.at < ROOM_GAP_MS) return "throttled";
    if (!slot || slot.notification_id !== notificationId) {
      this.sql.exec("INSERT OR REPLACE INTO email_slots (room_id, at, notification_id) VALUES (?, ?, ?)", roomKey, now, notificationId);
    }
    return "take";
  }

  /** Sent: a later retry of the same id sends nothing. */
  sent(id: string, now = Date.now()): void {
    this.sql.exec("INSERT OR IGNORE INTO emails_sent (id, at) VALUES (?, ?)", id, now);
    if (Math.random() < 0.05) this.sql.exec("DELETE FROM emails_sent WHERE at < ?", now - KEEP_SENT_MS);
  }

  isSent(id: string): boolean {
    return this.sql.exec("SELECT 1 FROM emails_sent WHERE id = ?", id).toArray().length > 0;
  }

  clear(): void {
    this.sql.exec("DELETE FROM email_slots");
    this.sql.exec("DELETE FROM emails_sent");
  }
}
