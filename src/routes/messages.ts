import { Hono } from "hono";
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

/** /api/rooms/:roomId/messages — the room checks membership on every call. */
const messages = new Hono<AppEnv>();

messages.get("/", zValidator("query", historyQuery), async (c) => {
  const { limit = HISTORY_DEFAULT_LIMIT, before } = c.req.valid("query");
  const roomId = c.req.param("roomId")!;
  return c.json(unwrap(await roomStub(c.env, roomId).getMessages(roomId, c.var.user, limit, before)));
});

messages.post("/", zValidator("json", sendInput), async (c) => {
  const roomId = c.req.param("roomId")!;
  const { message, created, limit } = unwrap(await roomStub(c.env, roomId).postMessage(roomId, c.var.user, c.req.valid("json")));
  // A resend of an acked clientId is not counted, and so carries no budget.
  return c.json({ message }, created ? 201 : 200, limit ? rateLimitHeaders(limit) : {});
});

messages.patch("/:messageId", zValidator("json", z.strictObject({ text: z.string().check(z.maxLength(1_000_000)) })), async (c) => {
  const roomId = c.req.param("roomId")!;
  const stub = roomStub(c.env, roomId);
  const message = unwrap(await stub.editMessage(roomId, c.var.user, c.req.param("messageId"), c.req.valid("json").text));
  return c.json({ message });
});

messages.delete("/:messageId", async (c) => {
  const roomId = c.req.param("roomId")!;
  const message = unwrap(await roomStub(c.env, roomId).deleteMessage(roomId, c.var.user, c.req.param("messageId")));
  return c.json({ message });
});

messages.put("/:messageId/reactions/:emoji", async (c) => {
  const roomId = c.req.param("roomId")!;
  const stub = roomStub(c.env, roomId);
  const message = unwrap(await stub.reactToMessage(roomId, c.var.user, c.req.param("messageId"), c.req.param("emoji"), true));
  return c.json({ message });
});

messages.delete("/:messageId/reactions/:emoji", async (c) => {
  const roomId = c.req.param("roomId")!;
  const stub = roomStub(c.env, roomId);
  const message = unwrap(await stub.reactToMessage(roomId, c.var.user, c.req.param("messageId"), c.req.param("emoji"), false));
  return c.json({ message });
});

messages.get("/:messageId/reads", async (c) => {
  const roomId = c.req.param("roomId")!;
  const { userIds } = unwrap(await roomStub(c.env, roomId).getReaders(roomId, c.var.user, c.req.param("messageId")));
  const names = await findUsers(c.env.DB, userIds);
  const readBy = userIds
    .map((id) => ({ id, name: names.get(id)?.name ?? id }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return c.json({ readBy });
});

export default messages;
