import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { userStub } from "../user/User";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { requireUser } from "../middleware/auth";
import { rateLimit } from "../limits/http";
import { allowedOrigin } from "../middleware/origin";
import { validRoomId } from "../middleware/room-id";
import { upgradeRequest } from "../room/handoff";
import { log } from "../lib/log";
import { roomStub, unwrap } from "../lib/room-rpc";

/** WebSocket upgrades, on the PartySocket path convention: /parties/:party/:room. */
const parties = new Hono<AppEnv>();

const websocketOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("bad_request", "expected a websocket upgrade");
  }
  await next();
});

parties.get(
  "/room/:roomId",
  websocketOnly,
  allowedOrigin(),
  requireUser({ from: "query" }),
  validRoomId(),
  // Counted before the room is asked: a reconnect loop never reaches it.
  rateLimit({ rule: "connections", key: (c) => c.var.user.id }),
  async (c) => {
    const roomId = c.req.param("roomId");
    const stub = roomStub(c.env, roomId);
    // Refused here with 403/404 before any socket exists; the room checks again on upgrade.
    unwrap(await stub.access(roomId, c.var.user));
    return stub.fetch(upgradeRequest(c.req.raw, roomId, c.var.user, log.context().requestId));
  },
);

/** The user socket: notifications, unread counts and presence for every device of the user (own id only). */
parties.get(
  "/user/:userId",
  websocketOnly,
  allowedOrigin(),
  requireUser({ from: "query" }),
  rateLimit({ rule: "connections", key: (c) => c.var.user.id }),
  async (c) => {
    const userId = c.req.param("userId");
    if (userId !== c.var.user.id) throw new ApiError("forbidden", "a user socket is only for your own user id");
    return userStub(c.env, userId).fetch(upgradeRequest(c.req.raw, userId, c.var.user, log.context().requestId));
  },
);

export default parties;
