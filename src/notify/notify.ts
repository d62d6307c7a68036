/**
 * Turns decided notifications into the user's feed and live frames: drops users who do not
 * exist and rooms they muted, writes the feed once per id, and hands each notification to the
 * user's object (which gives it to every device once).
 */
import type { Bindings } from "../env";
import { log } from "../lib/log";
import { userStub } from "../user/User";
import { insertNotifications, type NewNotification } from "./feed";
import { getPreferencesFor, type Preferences } from "./preferences";

export interface NotifyOptions {
  /** Only users D1 shows present get a live frame (a broadcast to everyone must not wake every user's object). */
  liveOnlyIfPresent?: boolean;
}

/** A notification to write; `unverified` ones are for users the sender could not check exist. */
export type Candidate = NewNotification & { unverified?: true };

export interface Notified {
  /** What was written to the feed (muted rooms and unknown users left out). */
  kept: NewNotification[];
  prefs: Map<string, Preferences>;
}

export async function notify(env: Bindings, candidates: Candidate[], options: NotifyOptions = {}): Promise<Notified> {
  const unverified = candidates.filter((n) => n.unverified).map((n) => n.userId);
  const existing = unverified.length > 0 ? await usersAmong(env.DB, unverified) : new Set<string>();
  const list: NewNotification[] = candidates
    .filter((n) => !n.unverified || existing.has(n.userId))
    .map(({ unverified: _, ...n }) => n);
  if (list.length === 0) return { kept: [], prefs: new Map() };
  const ids = [...new Set(list.map((n) => n.userId))];
  const prefs = await getPreferencesFor(env.DB, ids);
  const kept = list.filter((n) => !(n.roomId !== null && prefs.get(n.userId)?.mutedRooms.includes(n.roomId)));
  await insertNotifications(env.DB, kept);

  const present = options.liveOnlyIfPresent ? await presentAmong(env.DB, ids) : null;
  const live = kept.filter((n) => prefs.get(n.userId)?.inApp !== false && (present === null || present.has(n.userId)));
  await Promise.all(
    live.map(async ({ userId, ...notification }) => {
      try {
        await userStub(env, userId).deliver(userId, { ...notification, readAt: null });
      } catch (error) {
        // The feed has it; a device that missed the frame sees it on its next GET.
        log.warn({ msg: "live notification failed", userId, error });
      }
    }),
  );
  return { kept, prefs };
}

/**
 * The ids among `ids` whose row in `table` meets `condition`. The ids travel as one JSON
 * parameter (as findUsers and presenceOf send theirs): D1 binds at most 100 values.
 */
async function among(db: D1Database, ids: string[], table: "users" | "presence", column: string, condition: string): Promise<Set<string>> {
  const { results } = await db
    .prepare(`SELECT ${column} AS id FROM ${table} WHERE ${condition} AND ${column} IN (SELECT value FROM json_each(?))`)
    .bind(JSON.stringify(ids))
    .all<{ id: string }>();
  return new Set(results.map((r) => r.id));
}

/** Users that exist. */
const usersAmong = (db: D1Database, ids: string[]) => among(db, ids, "users", "id", "1");
/** Users with an email address on their row. */
export const withEmailAmong = (db: D1Database, ids: string[]) => among(db, ids, "users", "id", "email IS NOT NULL");
/** Users D1 shows connected (online or away). */
const presentAmong = (db: D1Database, ids: string[]) => among(db, ids, "presence", "user_id", "status != 'offline'");
/** Users D1 shows online: a socket somewhere is open and not away. */
export const onlineAmong = (db: D1Database, ids: string[]) => among(db, ids, "presence", "user_id", "status = 'online'");
