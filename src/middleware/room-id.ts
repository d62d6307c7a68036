import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { isRoomId } from "../protocol";

/** Checks `:roomId` before any Durable Object is touched. */
export const validRoomId = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const roomId = c.req.param("roomId");
    if (roomId === undefined || !isRoomId(roomId)) {
      throw new ApiError("bad_request", "room id must be 1-64 letters, digits, '-' or '_'");
    }
    await next();
  });
