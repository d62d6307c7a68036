/**
 * Removes uploads that no message claimed within a day: the hourly cron's job (index.ts).
 *
 * A claim may race the cleanup, so the rows are taken first, atomically: one UPDATE marks a
 * batch of unclaimed old rows as being removed (`claimed_at` = REMOVING while `client_id` stays
 * null), which no claim matches (claim.ts). Then their objects go, then the rows. If deleting
 * objects fails, the marked rows stay (still unclaimed and old, so still in the partial index
 * `attachments_unclaimed`) and the next run takes them again: no object is ever left without a
 * row that leads to it.
 */
import { UNCLAIMED_TTL_MS } from "./policy";
import { objectKey, type FileStore } from "./store";

export const REMOVING = "removing";
/** Rows per batch (one R2 delete call each), and batches per run: a run's work is bounded. */
const BATCH = 100;
const MAX_BATCHES = 50;

const TAKE = `
  UPDATE attachments SET claimed_at = ?1
  WHERE id IN (SELECT id FROM attachments WHERE client_id IS NULL AND created_at < ?2 ORDER BY created_at LIMIT ?3)
  RETURNING id, room_id`;

const REMOVE = `DELETE FROM attachments WHERE id IN (SELECT value FROM json_each(?1)) AND client_id IS NULL AND claimed_at = ?2`;

/** Deletes uploads never claimed and older than a day as of `now`, objects and rows; returns how many. */
export async function removeUnclaimed(env: FileStore, now = Date.now()): Promise<number> {
  const cutoff = new Date(now - UNCLAIMED_TTL_MS).toISOString();
  let removed = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const { results } = await env.DB.prepare(TAKE).bind(REMOVING, cutoff, BATCH).all<{ id: string; room_id: string }>();
    if (results.length === 0) break;
    await env.FILES.delete(results.map((r) => objectKey(r.room_id, r.id)));
    await env.DB.prepare(REMOVE).bind(JSON.stringify(results.map((r) => r.id)), REMOVING).run();
    removed += results.length;
    if (results.length < BATCH) break;
  }
  return removed;
}
