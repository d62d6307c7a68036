import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { errors, json, wrapped } from "../openapi/describe";
import { readLimited } from "../attachments/body";
import { contentDisposition, fileName } from "../attachments/names";
import { MAX_ATTACHMENT_BYTES, isImage } from "../attachments/policy";
import { resolveRange } from "../attachments/range";
import { findAttachment, objectKey, saveUpload, toRef } from "../attachments/store";
import { declaredType, inspectUpload } from "../attachments/upload";
import type { AttachmentRow } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError, errorBody } from "../lib/errors";
import { roomStub, unwrap } from "../lib/room-rpc";
import { zValidator } from "../lib/validate";
import * as z from "../lib/zod";
import { rateLimit } from "../limits/http";

/**
 * /api/rooms/:roomId/attachments — uploads, and the files themselves. The token is checked by
 * the rooms router; the room's membership here, on every request.
 */
const attachments = new Hono<AppEnv>();

// Membership before anything else, the body and query included: a non-member learns nothing
// about the room's files, and a large upload from one is refused before it is read.
attachments.use("*", async (c, next) => {
  const roomId = c.req.param("roomId")!;
  unwrap(await roomStub(c.env, roomId).access(roomId, c.var.user));
  await next();
});

attachments.post("/", describeRoute({
  tags: ["Attachments"],
  operationId: "uploadAttachment",
  summary: "Upload a file for a message",
  description:
    "The body is the file's bytes (no multipart, no Content-Encoding), at most 10 MiB, of an allowed type declared in " +
    "Content-Type and matched by the bytes. Name its id in a message's `attachments` to attach it (docs/attachments.md).",
  requestBody: { required: true, content: { "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } } } },
  responses: { 201: json("Stored", wrapped("attachment", "Attachment")), ...errors(403, 404, 413, 415, 429) },
}), zValidator("query", z.object({ name: fileName })), rateLimit({ rule: "uploads", key: (c) => c.var.user.id }), async (c) => {
  const roomId = c.req.param("roomId")!;
  // Compressed bodies would be sniffed and stored compressed, and served as what they are not.
  const encoding = c.req.header("content-encoding");
  if (encoding && encoding.trim().toLowerCase() !== "identity") {
    throw new ApiError("unsupported_type", "send the file without Content-Encoding");
  }
  const type = declaredType(c.req.header("content-type"));
  const bytes = await readLimited(c.req.raw, MAX_ATTACHMENT_BYTES);
  if (bytes.byteLength === 0) throw new ApiError("bad_request", "the file is empty");
  const inspected = await inspectUpload(bytes, type);
  const row = await saveUpload(
    c.env,
    {
      id: crypto.randomUUID(),
      roomId,
      ownerId: c.var.user.id,
      name: c.req.valid("query").name,
      size: bytes.byteLength,
      mimeType: inspected.mimeType,
      width: inspected.width ?? null,
      height: inspected.height ?? null,
      createdAt: new Date().toISOString(),
    },
    bytes,
  );
  return c.json({ attachment: toRef(row) }, 201);
});

attachments.get("/:attachmentId", describeRoute({
  tags: ["Attachments"],
  operationId: "getAttachment",
  summary: "Download a file",
  description: "To members of the room. Supports `Range` (one range), `If-Range` and `If-None-Match`.",
  responses: {
    200: { description: "The file", content: { "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } } } },
    206: { description: "The asked range of the file" },
    304: { description: "Not modified since the ETag the client has" },
    416: json("A range beyond the file (`bad_request`)", "ErrorBody"),
    ...errors(403, 404),
  },
}), zValidator("param", z.object({ attachmentId: z.uuid() })), async (c) => {
  const roomId = c.req.param("roomId")!;
  const { attachmentId } = c.req.valid("param");
  // Looked up within this room: being a member of one room never opens another room's files.
  const row = await findAttachment(c.env.DB, roomId, attachmentId);
  if (!row) throw new ApiError("not_found", "no such attachment in this room");

  const key = objectKey(roomId, row.id);
  let range = resolveRange(c.req.header("range"), row.size);
  if (range.kind === "unsatisfiable") {
    // 416 has no code of its own in the contract; the body keeps the contract's shape.
    return Response.json(errorBody("bad_request", `the file has ${row.size} bytes`), {
      status: 416,
      headers: { "Content-Range": `bytes */${row.size}` },
    });
  }
  const ifNoneMatch = c.req.header("if-none-match");
  // R2 compares the ETags itself (weak comparison, lists and `*`, as If-None-Match asks).
  const onlyIf = ifNoneMatch ? new Headers({ "if-none-match": ifNoneMatch }) : undefined;
  const part = range.kind === "part" ? { offset: range.offset, length: range.length } : undefined;
  let object = await c.env.FILES.get(key, { onlyIf, range: part });

  // If-Range: a part only of the version the client already has part of; otherwise all of it.
  const ifRange = c.req.header("if-range");
  if (object && "body" in object && range.kind === "part" && ifRange !== undefined && ifRange !== object.httpEtag) {
    await object.body.cancel();
    range = { kind: "all" };
    object = await c.env.FILES.get(key, { onlyIf });
  }

  if (!object) throw new ApiError("not_found", "the attachment's file is gone");
  const headers = fileHeaders(row, object.httpEtag);
  if (!("body" in object)) return new Response(null, { status: 304, headers });
  if (range.kind === "part") {
    const end = range.offset + range.length - 1;
    headers.set("Content-Range", `bytes ${range.offset}-${end}/${row.size}`);
    headers.set("Content-Length", String(range.length));
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("Content-Length", String(row.size));
  return new Response(object.body, { status: 200, headers });
});

/**
 * Served as the type that was checked at upload, never sniffed by the browser, and sandboxed:
 * even a file a browser would render cannot run script with the chat's origin. `no-cache`
 * makes a browser revalidate (a cheap 304) each time, so a removed member's next look is
 * refused rather than served from cache.
 */
function fileHeaders(row: AttachmentRow, etag: string): Headers {
  return new Headers({
    "Content-Type": row.mimeType === "text/plain" ? "text/plain; charset=utf-8" : row.mimeType,
    ETag: etag,
    "Cache-Control": "private, no-cache",
    "Accept-Ranges": "bytes",
    "Content-Disposition": contentDisposition(isImage(row.mimeType) ? "inline" : "attachment", row.name),
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
  });
}

export default attachments;
