/**
 * The service's live counters in one place: a singleton Durable Object (`idFromName("stats")`)
 * that rooms report to, so `GET /api/admin/stats` never calls every room. A room reports on
 * change, at most every few seconds (src/room/stats.ts); this object keeps one row per room
 * (sockets, typing users, newest message) and the ids of the room's online users, and answers
 * totals from them. docs/administration.md has the semantics.
 *
 * Online users are kept per room as ids so that a user online in two rooms counts once. A room
 * sends its full set only when this object does not know it (the room's first report of its
 * life, or after a mismatch); after that only who came and went. `epoch` (one per life of the
 * room object) and `version` (one per report) tell a delta that follows what is stored from one
 * that does not; a delta that does not follow is refused with `resync`, and the room sends its
 * full set next.
 *
 * A room that stops reporting without saying so (evicted, restarted by a deploy) would leave
 * its row behind. Rows not refreshed within `STATS_TTL_MS` are checked by the sweep alarm: it
 * asks that room once for a snapshot (a hibernating room with open sockets wakes and answers
 * correctly); a room that cannot answer loses its row.
 */
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env";
import { log } from "../lib/log";

export interface RoomReport {
  roomId: string;
  /** One per life of the room object. */
  epoch: string;
  /** One more per report within an epoch. */
  version: number;
  /** Open sockets. */
  sockets: number;
  /** Users typing right now. */
  typing: number;
  /** When the room's newest message was created, if the room knows (it forgets on eviction). */
  lastMessageAt: string | null;
  /** Users with an open socket: all of them, or who came and went since the last report. */
  online: { full: string[] } | { added: string[]; removed: string[] };
}

export interface LiveTotals {
  connectedClients: number;
  onlineUsers: number;
  typingUsers: number;
  activeRooms: number;
}

/** A row not refreshed for this long is checked with its room (and dropped if it cannot answer). */
export const STATS_TTL_MS = 10 * 60_000;
/** How often the sweep looks for such rows, while there are rows. */
const SWEEP_MS = 60_000;
/** Rooms asked at once, and how long one sweep goes on asking (the rest wait for the next). */
const SWEEP_BATCH = 50;
const SWEEP_BUDGET_MS = 15_000;
/** A room with a message newer than this counts as active. */
export const ACTIVE_WINDOW_MS = 60 * 60_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rooms (
  room_id TEXT PRIMARY KEY,
  epoch TEXT NOT NULL,
  version INTEGER NOT NULL,
  sockets INTEGER NOT NULL,
  typing INTEGER NOT NULL,
  last_message_at TEXT,
  reported_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rooms_reported ON rooms (reported_at);
CREATE TABLE IF NOT EXISTS online (room_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (room_id, user_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS online_user ON online (user_id);
`;

export const statsStub = (env: Bindings) => env.STATS.get(env.STATS.idFromName("stats"));

export class Stats extends DurableObject<Bindings> {
  private readonly sql: SqlStorage;
  private sweepSet = false;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
  }

  /** A room's report. `resync`: the delta did not follow what is stored; send the full set. */
  async report(r: RoomReport): Promise<{ resync: boolean }> {
    const resync = this.apply(r, Date.now());
    await this.ensureSweep();
    return { resync };
  }

  /** Totals over every room's last report. */
  totals(now = Date.now()): LiveTotals {
    const active = new Date(now - ACTIVE_WINDOW_MS).toISOString();
    const row = this.sql
      .exec<{ sockets: number; typing: number; active: number }>(
        `SELECT coalesce(sum(sockets), 0) AS sockets, coalesce(sum(typing), 0) AS typing,
                count(*) FILTER (WHERE sockets > 0 OR last_message_at >= ?) AS active FROM rooms`,
        active,
      )
      .one();
    const online = this.sql.exec<{ n: number }>("SELECT count(DISTINCT user_id) AS n FROM online").one().n;
    return { connectedClients: row.sockets, onlineUsers: online, typingUsers: row.typing, activeRooms: row.active };
  }

  /** The sweep: rows of rooms that went quiet are checked with the room, or dropped. */
  async alarm(): Promise<void> {
    this.sweepSet = false;
    const start = Date.now();
    this.dropIdle(start);
    const asked = new Set<string>();
    while (Date.now() - start < SWEEP_BUDGET_MS) {
      const stale = this.sql
        .exec<{ room_id: string }>("SELECT room_id FROM rooms WHERE reported_at < ? ORDER BY reported_at LIMIT ?", start - STATS_TTL_MS, SWEEP_BATCH)
        .toArray()
        .filter((r) => !asked.has(r.room_id));
      if (stale.length === 0) break;
      for (const r of stale) asked.add(r.room_id);
      await this.check(stale.map((r) => r.room_id));
    }
    this.dropIdle(Date.now());
    if (this.sql.exec("SELECT 1 FROM rooms LIMIT 1").toArray().length > 0) await this.ensureSweep();
  }

  /** Asks these rooms for a snapshot; a room that cannot answer loses its row. */
  private async check(roomIds: string[]): Promise<void> {
    await Promise.all(
      roomIds.map(async (roomId) => {
        try {
          const snapshot = await this.env.ROOM.get(this.env.ROOM.idFromName(roomId)).statsSnapshot();
          if (snapshot !== null && snapshot.roomId === roomId) {
            this.apply(snapshot, Date.now());
            return;
          }
        } catch (err) {
          log.error({ msg: "stats: a room did not answer; dropping its row", roomId, err });
        }
        this.drop(roomId);
      }),
    );
  }

  /** Stores a report; returns whether the room must send its full set. */
  private apply(r: RoomReport, now: number): boolean {
    return this.ctx.storage.transactionSync(() => {
      const row = this.sql
        .exec<{ epoch: string; version: number; last_message_at: string | null }>(
          "SELECT epoch, version, last_message_at FROM rooms WHERE room_id = ?",
          r.roomId,
        )
        .toArray()[0];
      let resync = false;
      if ("full" in r.online) {
        this.sql.exec("DELETE FROM online WHERE room_id = ?", r.roomId);
        this.addOnline(r.roomId, r.online.full);
      } else if (row && row.epoch === r.epoch && row.version + 1 === r.version) {
        if (r.online.removed.length > 0) {
          this.sql.exec(
            "DELETE FROM online WHERE room_id = ? AND user_id IN (SELECT value FROM json_each(?))",
            r.roomId,
            JSON.stringify(r.online.removed),
          );
        }
        this.addOnline(r.roomId, r.online.added);
      } else {
        resync = true;
      }
      const last = [row?.last_message_at ?? null, r.lastMessageAt].reduce((a, b) => (b !== null && (a === null || b > a) ? b : a), null);
      this.sql.exec(
        `INSERT INTO rooms (room_id, epoch, version, sockets, typing, last_message_at, reported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (room_id) DO UPDATE SET epoch = excluded.epoch, version = excluded.version, sockets = excluded.sockets,
           typing = excluded.typing, last_message_at = excluded.last_message_at, reported_at = excluded.reported_at`,
        r.roomId,
        // A refused delta leaves the set unknown: no delta matches until the full set comes.
        resync ? "" : r.epoch,
        r.version,
        r.sockets,
        r.typing,
        last,
        now,
      );
      return resync;
    });
  }

  private addOnline(roomId: string, userIds: string[]): void {
    if (userIds.length === 0) return;
    this.sql.exec(
      "INSERT OR IGNORE INTO online (room_id, user_id) SELECT ?, value FROM json_each(?)",
      roomId,
      JSON.stringify(userIds),
    );
  }

  private drop(roomId: string): void {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM online WHERE room_id = ?", roomId);
      this.sql.exec("DELETE FROM rooms WHERE room_id = ?", roomId);
    });
  }

  /** Rows that count for nothing any more: no sockets, nobody typing or online, no recent message. */
  private dropIdle(now: number): void {
    const active = new Date(now - ACTIVE_WINDOW_MS).toISOString();
    this.sql.exec(
      `DELETE FROM rooms WHERE sockets = 0 AND typing = 0 AND (last_message_at IS NULL OR last_message_at < ?)
         AND NOT EXISTS (SELECT 1 FROM online o WHERE o.room_id = rooms.room_id)`,
      active,
    );
  }

  private async ensureSweep(): Promise<void> {
    if (this.sweepSet) return;
    this.sweepSet = true;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + SWEEP_MS);
  }
}
