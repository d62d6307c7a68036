/**
 * A send claims the uploads it references. Claiming marks them with the send's clientId, so
 * that the same send arriving again (a resend after a reconnect) claims them again and gets
 * the same refs, while any other message is refused them: one upload, one message.
 */
import type { AttachmentRow } from "../db/schema";
import { MAX_ATTACHMENTS_PER_MESSAGE, type AttachmentRef, type ErrorCode } from "../protocol";
import { toRef } from "./store";

export type ClaimResult = { ok: true; value: AttachmentRef[] } | { ok: false; code: ErrorCode; message: string };

const fail = (message: string): ClaimResult => ({ ok: false, code: "bad_request", message });

/**
 * One statement, so all or none: it claims the rows only if every id is claimable, which the
 * scalar subquery (evaluated once, before any row changes) counts. Claimable: unclaimed and not
 * being removed by the cleanup (cleanup.ts), or already claimed by this very send. `claimed_at`
 * keeps the first claim's time when a resend claims again.
 */
const CLAIMABLE = `id IN (SELECT value FROM json_each(?3)) AND room_id = ?4 AND owner_id = ?5
    AND ((client_id IS NULL AND claimed_at IS NULL) OR client_id = ?1)`;
const CLAIM = `
  UPDATE attachments SET client_id = ?1, claimed_at = COALESCE(claimed_at, ?2)
  WHERE ${CLAIMABLE} AND (SELECT COUNT(*) FROM attachments WHERE ${CLAIMABLE}) = ?6
  RETURNING *`;

/** Claims `ids` (in that order) for the message `clientId` of `ownerId` in `roomId`. */
export async function claimAttachments(
  db: D1Database,
  roomId: string,
  ownerId: string,
  clientId: string,
  ids: string[],
): Promise<ClaimResult> {
  if (ids.length > MAX_ATTACHMENTS_PER_MESSAGE) {
    return fail(`a message has at most ${MAX_ATTACHMENTS_PER_MESSAGE} attachments`);
  }
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) return fail(`attachment ${twice} is listed twice`);
  if (ids.length === 0) return { ok: true, value: [] };

  const json = JSON.stringify(ids);
  const { results } = await db
    .prepare(CLAIM)
    .bind(clientId, new Date().toISOString(), json, roomId, ownerId, ids.length)
    .all<D1AttachmentRow>();
  if (results.length === ids.length) {
    const byId = new Map(results.map((r) => [r.id, toRef(fromD1(r))]));
    return { ok: true, value: ids.map((id) => byId.get(id)!) };
  }
  return fail(await whyNot(db, roomId, ownerId, clientId, json, ids));
}

/** Names the first id that could not be claimed, and why, for the sender's error message. */
async function whyNot(db: D1Database, roomId: string, ownerId: string, clientId: string, json: string, ids: string[]) {
  const { results } = await db
    .prepare("SELECT id, room_id, owner_id, client_id, claimed_at FROM attachments WHERE id IN (SELECT value FROM json_each(?))")
    .bind(json)
    .all<Pick<D1AttachmentRow, "id" | "room_id" | "owner_id" | "client_id" | "claimed_at">>();
  const rows = new Map(results.map((r) => [r.id, r]));
  for (const id of ids) {
    const row = rows.get(id);
    // Someone else's upload, or one in another room, is described as missing: its existence is
    // not the sender's business.
    if (!row || row.room_id !== roomId || row.owner_id !== ownerId) {
      return `attachment ${id} is not an upload of yours in this room`;
    }
    if (row.client_id !== null && row.client_id !== clientId) {
      return `attachment ${id} belongs to another message`;
    }
    if (row.client_id === null && row.claimed_at !== null) {
      return `attachment ${id} was not used within a day and has been removed`;
    }
  }
  return "the attachments could not be claimed";
}

interface D1AttachmentRow {
  id: string;
  room_id: string;
  owner_id: string;
  name: string;
  size: number;
  mime_type: string;
  width: number | null;
  height: number | null;
  created_at: string;
  client_id: string | null;
  claimed_at: string | null;
}

function fromD1(r: D1AttachmentRow): AttachmentRow {
  return {
    id: r.id,
    roomId: r.room_id,
    ownerId: r.owner_id,
    name: r.name,
    size: r.size,
    mimeType: r.mime_type,
    width: r.width,
    height: r.height,
    createdAt: r.created_at,
    clientId: r.client_id,
    claimedAt: r.claimed_at,
  };
}
