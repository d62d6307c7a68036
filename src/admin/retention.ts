/**
 * Retention: with `RETENTION_DAYS` set, messages older than that are removed from D1 and from
 * the rooms. The daily cron (`RETENTION_CRON`) starts the Retention object's job (one object,
 * `idFromName("retention")`), which removes the oldest messages in batches of `RETENTION_BATCH`
 * until none older than the cutoff is left, resuming after any interruption (src/admin/jobs.ts).
 * A cron that fires while a run is still going moves its cutoff on. docs/administration.md says
 * what clients see.
 *
 * A batch, oldest first across all rooms:
 * 1. Each room in it is told the highest seq of its own that goes (a room's messages age in seq
 *    order, so that is everything up to it): the room drops its copies, starts its history after
 *    them and waits for any flush under way; from then on its flushes never write them again.
 * 2. The files of those messages go from R2 (and their rows from `attachments`).
 * 3. The rows go from D1; the search index follows by trigger.
 * Each step can be repeated: a batch cut off anywhere is selected again and finished.
 */
import { readConfig } from "../config";
import { dropAttachments } from "../attachments/store";
import type { Bindings } from "../env";
import { roomStub } from "../lib/room-rpc";
import type { AttachmentRef } from "../protocol";
import { JobObject, type JobStep } from "./jobs";

/** The cron that runs retention (it must match one in wrangler.toml `[triggers] crons`). */
export const RETENTION_CRON = "43 3 * * *";
/** Messages removed per piece of work. */
export const RETENTION_BATCH = 500;
/** Rooms told at once. */
const ROOM_CALLS = 25;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionParams {
  /** Messages created before this (ISO time) go. */
  cutoff: string;
}

const COUNTS = "CREATE TABLE IF NOT EXISTS counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID";

export const expireOldest: JobStep<RetentionParams> = {
  name: "expire",
  reset({ storage }) {
    storage.sql.exec(COUNTS);
    storage.sql.exec("DELETE FROM counts");
  },
  async run({ env, params, storage }) {
    const { results: rows } = await env.DB.prepare(
      "SELECT rowid AS rid, room_id, seq, attachments FROM messages WHERE created_at < ? ORDER BY created_at LIMIT ?",
    )
      .bind(params.cutoff, RETENTION_BATCH)
      .all<{ rid: number; room_id: string; seq: number; attachments: string | null }>();
    if (rows.length === 0) return "done";

    const through = new Map<string, number>();
    for (const r of rows) through.set(r.room_id, Math.max(through.get(r.room_id) ?? 0, r.seq));
    const rooms = [...through];
    for (let i = 0; i < rooms.length; i += ROOM_CALLS) {
      await Promise.all(rooms.slice(i, i + ROOM_CALLS).map(([roomId, seq]) => roomStub(env, roomId).expireMessages(roomId, seq)));
    }

    const files = rows.flatMap((r) => (r.attachments ? (JSON.parse(r.attachments) as AttachmentRef[]).map((a) => a.id) : []));
    if (files.length > 0) await dropAttachments(env, files);

    await env.DB.prepare("DELETE FROM messages WHERE rowid IN (SELECT value FROM json_each(?)) AND created_at < ?")
      .bind(JSON.stringify(rows.map((r) => r.rid)), params.cutoff)
      .run();
    storage.sql.exec(COUNTS);
    storage.sql.exec(
      "INSERT INTO counts (name, n) VALUES ('removed', ?) ON CONFLICT (name) DO UPDATE SET n = n + excluded.n",
      rows.length,
    );
    return rows.length < RETENTION_BATCH ? "done" : "more";
  },
};

export class Retention extends JobObject<RetentionParams> {
  protected readonly steps = [expireOldest];

  protected override progress(): Record<string, number> {
    const { sql } = this.ctx.storage;
    sql.exec(COUNTS);
    return { removed: sql.exec<{ n: number }>("SELECT coalesce(sum(n), 0) AS n FROM counts WHERE name = 'removed'").one().n };
  }
}

export const retentionStub = (env: Bindings) => env.RETENTION.get(env.RETENTION.idFromName("retention"));

/** The cutoff for `RETENTION_DAYS` at `now`, or null when retention is off (0, the default). */
export function retentionCutoff(env: Bindings, now: number): string | null {
  const days = readConfig(env).retentionDays;
  return days > 0 ? new Date(now - days * DAY_MS).toISOString() : null;
}

/** The daily cron's work: starts (or moves on) the retention job; nothing when retention is off. */
export async function startRetention(env: Bindings, now: number): Promise<void> {
  const cutoff = retentionCutoff(env, now);
  if (cutoff !== null) await retentionStub(env).begin({ cutoff });
}
