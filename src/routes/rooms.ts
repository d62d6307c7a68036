import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv, Bindings } from "../env";
import { ApiError } from "../lib/errors";
import { zValidator } from "../lib/validate";
import { requireUser } from "../middleware/auth";
import { validRoomId } from "../middleware/room-id";
import { HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT, sendInput } from "../protocol";

const positiveInt = (max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d{1,16}$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(1).max(max));

const historyQuery = z.object({
  limit: positiveInt(HISTORY_MAX_LIMIT).optional(),
  before: positiveInt().optional(),
});

export const roomStub = (env: Bindings, roomId: string) => env.ROOM.get(env.ROOM.idFromName(roomId));

const rooms = new Hono<AppEnv>();
rooms.use("*", requireUser());
rooms.use("/:roomId/*", validRoomId());

rooms.get("/:roomId/messages", zValidator("query", historyQuery), async (c) => {
  const { limit = HISTORY_DEFAULT_LIMIT, before } = c.req.valid("query");
  const roomId = c.req.param("roomId");
  return c.json(await roomStub(c.env, roomId).getMessages(roomId, limit, before));
});

rooms.post("/:roomId/messages", zValidator("json", sendInput), async (c) => {
  const roomId = c.req.param("roomId");
  const result = await roomStub(c.env, roomId).postMessage(roomId, c.var.user, c.req.valid("json"));
  if (result.ok) return c.json({ message: result.value.message }, result.value.created ? 201 : 200);
  throw new ApiError(result.code, result.message);
});

rooms.get("/:roomId/presence", async (c) => {
  const roomId = c.req.param("roomId");
  return c.json({ online: await roomStub(c.env, roomId).getPresence(roomId) });
});

export default rooms;
