import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { arrayOf, cursor, errors, json, object, RATE_LIMIT_HEADERS, wrapped } from "../openapi/describe";
import type { AppEnv } from "../env";
import { roomStub, unwrap } from "../lib/room-rpc";
import { zValidator } from "../lib/validate";
import * as z from "../lib/zod";
import { HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT, sendInput } from "../protocol";
import { positiveInt } from "../lib/params";
import { findUsers } from "../db/users";
import { rateLimitHeaders } from "../limits/http";

const historyQuery = z.object({
  limit: z.optional(positiveInt(HISTORY_MAX_LIMIT)),
  before: z.optional(positiveInt()),
});

/** An edit's text; like a send's, checked against MAX_TEXT_LENGTH by the room. */
export const editInput = z.strictObject({ text: z.string().check(z.maxLength(1_000_000)) });

/** /api/rooms/:roomId/messages — the room checks membership on every call. */
const messages = new Hono<AppEnv>();

messages.get("/", describeRoute({
  tags: ["Messages"],
  operationId: "getMessages",
  summary: "A page of history",
  description: "Ascending seq; the newest page without `before`. A message is here as soon as its sender has its ack.",
  responses: { 200: json("The page", object({ messages: arrayOf("Message"), nextBefore: cursor("integer") })), ...errors(403, 404) },
}), zValidator("query", historyQuery), async (c) => {
  const { limit = HISTORY_DEFAULT_LIMIT, before } = c.req.valid("query");
  const roomId = c.req.param("roomId")!;
  return c.json(unwrap(await roomStub(c.env, roomId).getMessages(roomId, c.var.user, limit, before)));
});

messages.post("/", describeRoute({
  tags: ["Messages"],
  operationId: "sendMessage",
  summary: "Send a message",
  description:
    "Delivered live to the room's sockets like a socket `send`. The same `clientId` from the same user again answers 200 " +
    "with the first message and stores nothing. A message with attachments may have empty text.",
  responses: {
    201: { ...json("Stored", wrapped("message", "Message")), headers: RATE_LIMIT_HEADERS },
    200: json("A repeat of a stored `clientId`: the first message", wrapped("message", "Message")),
    ...errors(403, 404, 409, 429),
  },
}), zValidator("json", sendInput), async (c) => {
  const roomId = c.req.param("roomId")!;
  const { message, created, limit } = unwrap(await roomStub(c.env, roomId).postMessage(roomId, c.var.user, c.req.valid("json")));
  // A resend of an acked clientId is not counted, and so carries no budget.
  return c.json({ message }, created ? 201 : 200, limit ? rateLimitHeaders(limit) : {});
});

messages.patch("/:messageId", describeRoute({
  tags: ["Messages"],
  operationId: "editMessage",
  summary: "Edit a message",
  description: "The author's, within EDIT_WINDOW_S of sending (403 later).",
  responses: { 200: json("The edited message", wrapped("message", "Message")), ...errors(403, 404, 409) },
}), zValidator("json", editInput), async (c) => {
  const roomId = c.req.param("roomId")!;
  const stub = roomStub(c.env, roomId);
  const message = unwrap(await stub.editMessage(roomId, c.var.user, c.req.param("messageId"), c.req.valid("json").text));
  return c.json({ message });
});

messages.delete("/:messageId", describeRoute({
  tags: ["Messages"],
  operationId: "deleteMessage",
  summary: "Delete a message",
  description: "Author, moderator or admin. The text becomes \"\", `deletedAt` is set; quote, reactions and attachments go; the seq stays.",
  responses: { 200: json("The tombstone", wrapped("message", "Message")), ...errors(403, 404) },
}), async (c) => {
  const roomId = c.req.param("roomId")!;
  const message = unwrap(await roomStub(c.env, roomId).deleteMessage(roomId, c.var.user, c.req.param("messageId")));
  return c.json({ message });
});

messages.put("/:messageId/reactions/:emoji", describeRoute({
  tags: ["Messages"],
  operationId: "addReaction",
  summary: "React to a message",
  description: "One emoji, or a `:name:` of the fixed list; one reaction per user per message (another replaces it). Idempotent.",
  responses: { 200: json("The message", wrapped("message", "Message")), ...errors(403, 404, 409) },
}), async (c) => {
  const roomId = c.req.param("roomId")!;
  const stub = roomStub(c.env, roomId);
  const message = unwrap(await stub.reactToMessage(roomId, c.var.user, c.req.param("messageId"), c.req.param("emoji"), true));
  return c.json({ message });
});

messages.delete("/:messageId/reactions/:emoji", describeRoute({
  tags: ["Messages"],
  operationId: "removeReaction",
  summary: "Take a reaction back",
  responses: { 200: json("The message", wrapped("message", "Message")), ...errors(403, 404) },
}), async (c) => {
  const roomId = c.req.param("roomId")!;
  const stub = roomStub(c.env, roomId);
  const message = unwrap(await stub.reactToMessage(roomId, c.var.user, c.req.param("messageId"), c.req.param("emoji"), false));
  return c.json({ message });
});

messages.get("/:messageId/reads", describeRoute({
  tags: ["Messages"],
  operationId: "getReaders",
  summary: "Who has read a message",
  description: "Members other than the author, by name.",
  responses: { 200: json("The readers", object({ readBy: arrayOf("UserRef") })), ...errors(403, 404) },
}), async (c) => {
  const roomId = c.req.param("roomId")!;
  const { userIds } = unwrap(await roomStub(c.env, roomId).getReaders(roomId, c.var.user, c.req.param("messageId")));
  const names = await findUsers(c.env.DB, userIds);
  const readBy = userIds
    .map((id) => ({ id, name: names.get(id)?.name ?? id }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return c.json({ readBy });
});

export default messages;
