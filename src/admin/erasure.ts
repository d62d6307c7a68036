/**
 * Erasure of a user (`POST /api/admin/users/:userId/erase`): one Eraser object per user
 * (`idFromName(userId)`) runs the steps in `ERASURE_STEPS` as a resumable job (src/admin/jobs.ts).
 * docs/administration.md describes what erasure guarantees.
 *
 * Extending it: a feature that keeps data about users (notifications and push subscriptions,
 * issue 11) adds a step to `ERASURE_STEPS`. A step does one bounded piece of work per call, keeps
 * any progress it needs in the job's storage (`job.storage`, reset in `reset`), returns "more"
 * until nothing of the user is left, and must be safe to run twice: a piece cut off before the
 * job stored its progress is done again, and erasing a user again runs every step again.
 */
import { roomStub } from "../lib/room-rpc";
import { deleteUserNotifications } from "../notify/feed";
import { removeUserSubscriptions } from "../notify/push/subscriptions";
import { userStub } from "../user/User";
import { JobObject, type JobContext, type JobStep } from "./jobs";

export interface ErasureParams {
  userId: string;
}

/** Messages a room erases per call. */
export const ROOM_BATCH = 200;
/** Looks for rooms (the plan, then checks that nothing is left) at most this many times per run. */
const MAX_ROUNDS = 3;

const ROOMS_SCHEMA = "CREATE TABLE IF NOT EXISTS erase_rooms (room_id TEXT PRIMARY KEY, done INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID";
const ROUND = "rooms:round";

/**
 * Every room where the user is a member or has a message that is not a tombstone: their
 * messages become tombstones there and their membership goes (src/room/erasure.ts). When the
 * list is done, D1 is asked again; rooms with anything left (a message that reached D1 late, a
 * membership that came back) go through again, up to `MAX_ROUNDS` lookups.
 */
export const eraseInRooms: JobStep<ErasureParams> = {
  name: "rooms",
  async reset({ storage }) {
    storage.sql.exec(ROOMS_SCHEMA);
    storage.sql.exec("DELETE FROM erase_rooms");
    await storage.delete(ROUND);
  },
  async run({ env, params, storage }) {
    storage.sql.exec(ROOMS_SCHEMA);
    const next = storage.sql.exec<{ room_id: string }>("SELECT room_id FROM erase_rooms WHERE done = 0 LIMIT 1").toArray()[0];
    if (next) {
      const { more } = await roomStub(env, next.room_id).eraseUser(next.room_id, params.userId, ROOM_BATCH);
      if (!more) storage.sql.exec("UPDATE erase_rooms SET done = 1 WHERE room_id = ?", next.room_id);
      return "more";
    }
    const round = (await storage.get<number>(ROUND)) ?? 0;
    if (round >= MAX_ROUNDS) return "done";
    const rooms = await roomsWithUser(env.DB, params.userId);
    storage.transactionSync(() => {
      for (const id of rooms) {
        storage.sql.exec("INSERT INTO erase_rooms (room_id, done) VALUES (?, 0) ON CONFLICT (room_id) DO UPDATE SET done = 0", id);
      }
    });
    await storage.put(ROUND, round + 1);
    return rooms.length > 0 ? "more" : "done";
  },
};

/**
 * Notifications to the user and those quoting their messages, their push subscriptions,
 * preferences, presence and email address, and what their own object holds.
 */
export const eraseNotifications: JobStep<ErasureParams> = {
  name: "notifications",
  async run({ env, params }) {
    await deleteUserNotifications(env.DB, params.userId);
    await removeUserSubscriptions(env.DB, params.userId);
    await env.DB.batch([
      env.DB.prepare("DELETE FROM presence WHERE user_id = ?").bind(params.userId),
      env.DB.prepare("DELETE FROM notification_preferences WHERE user_id = ?").bind(params.userId),
      env.DB.prepare("UPDATE users SET email = NULL WHERE id = ?").bind(params.userId),
      // Other people's notifications quote the user's messages (title and excerpt): they go too.
      env.DB.prepare("DELETE FROM notifications WHERE message_id IN (SELECT id FROM messages WHERE author_id = ?)").bind(params.userId),
    ]);
    await userStub(env, params.userId).erase(params.userId);
    return "done";
  },
};

/** The steps of an erasure, in order. */
export const ERASURE_STEPS: JobStep<ErasureParams>[] = [eraseInRooms, eraseNotifications];

/** Rooms where the user is a member, or has a message that is not yet a tombstone. */
async function roomsWithUser(d1: D1Database, userId: string): Promise<string[]> {
  const { results } = await d1
    .prepare(
      `SELECT room_id FROM members WHERE user_id = ?1
       UNION SELECT room_id FROM messages WHERE author_id = ?1 AND deleted_at IS NULL`,
    )
    .bind(userId)
    .all<{ room_id: string }>();
  return results.map((r) => r.room_id);
}

export class Eraser extends JobObject<ErasureParams> {
  protected readonly steps = ERASURE_STEPS;

  protected override progress(): Record<string, number> {
    const { sql } = this.ctx.storage;
    sql.exec(ROOMS_SCHEMA);
    const row = sql.exec<{ total: number; done: number | null }>("SELECT count(*) AS total, sum(done) AS done FROM erase_rooms").one();
    return { rooms: row.total, roomsDone: row.done ?? 0 };
  }
}

export const eraserStub = (env: JobContext<ErasureParams>["env"], userId: string) => env.ERASER.get(env.ERASER.idFromName(userId));
