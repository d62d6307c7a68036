/**
 * Where attachments live: the bytes in R2 under `att/<roomId>/<id>`, the facts about them in
 * D1's `attachments` table. The row is the authority: a file is served only through its row, so
 * an object without one is unreachable, never exposed.
 */
import { and, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { attachments, type AttachmentRow } from "../db/schema";
import type { AttachmentRef } from "../protocol";

export interface FileStore {
  DB: D1Database;
  FILES: R2Bucket;
}

export const objectKey = (roomId: string, id: string) => `att/${roomId}/${id}`;
export const attachmentUrl = (roomId: string, id: string) => `/api/rooms/${roomId}/attachments/${id}`;

/** The contract's shape of an attachment; width and height only for images. */
export function toRef(row: AttachmentRow): AttachmentRef {
  const ref: AttachmentRef = {
    id: row.id,
    name: row.name,
    size: row.size,
    mimeType: row.mimeType,
    url: attachmentUrl(row.roomId, row.id),
  };
  if (row.width !== null && row.height !== null) {
    ref.width = row.width;
    ref.height = row.height;
  }
  return ref;
}

export type NewUpload = Omit<AttachmentRow, "clientId" | "claimedAt">;

/**
 * Bytes first, then the row: a row is only ever written for bytes that are there. If the row
 * cannot be written, the object is removed again, since nothing would ever find it to clean up.
 */
export async function saveUpload(env: FileStore, upload: NewUpload, bytes: Uint8Array): Promise<AttachmentRow> {
  const key = objectKey(upload.roomId, upload.id);
  await env.FILES.put(key, bytes, { httpMetadata: { contentType: upload.mimeType } });
  try {
    const [row] = await drizzle(env.DB).insert(attachments).values(upload).returning();
    return row!;
  } catch (err) {
    await env.FILES.delete(key).catch(() => {});
    throw err;
  }
}

/** The attachment `id` of room `roomId`; another room's attachment is not found from here. */
export async function findAttachment(db: D1Database, roomId: string, id: string): Promise<AttachmentRow | null> {
  const [row] = await drizzle(db)
    .select()
    .from(attachments)
    .where(and(eq(attachments.id, id), eq(attachments.roomId, roomId)))
    .limit(1);
  return row ?? null;
}

/** R2 deletes at most 1,000 keys per call; D1 binds at most 100 values per statement. */
const DELETE_CHUNK = 100;

/**
 * Removes attachments, objects and rows (a deleted message's files). Objects go first: if the
 * row delete then fails, a retry still finds the rows and finishes the job; the other way round
 * a failure would leave objects that nothing points to. Ids already gone are ignored.
 */
export async function dropAttachments(env: FileStore, ids: string[]): Promise<void> {
  const db = drizzle(env.DB);
  for (let i = 0; i < ids.length; i += DELETE_CHUNK) {
    const chunk = [...new Set(ids.slice(i, i + DELETE_CHUNK))];
    const rows = await db
      .select({ id: attachments.id, roomId: attachments.roomId })
      .from(attachments)
      .where(inArray(attachments.id, chunk));
    if (rows.length === 0) continue;
    await env.FILES.delete(rows.map((r) => objectKey(r.roomId, r.id)));
    await db.delete(attachments).where(
      inArray(
        attachments.id,
        rows.map((r) => r.id),
      ),
    );
  }
}
