import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { errors, noContent } from "../openapi/describe";
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
import { shardStub } from "../shard/RoomShard";
import { regionOf } from "../shard/regions";
import { readConfig } from "../config";

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
  describeRoute({
    tags: ["Sockets"],
    operationId: "openRoomSocket",
    summary: "The room socket (WebSocket upgrade)",
    description:
      "Send `Upgrade: websocket`; the PartySocket path convention. Authenticate with `?ticket=` (POST /api/auth/ticket) or `?token=`. " +
      "Frames are JSON text: the client's are the schema RoomClientFrame, the server's are listed in docs/API.md. " +
      "A browser from an origin not in ALLOWED_ORIGINS gets 403.",
    security: [{ ticket: [] }, { token: [] }],
    responses: { 101: noContent("Switching protocols: the socket is open; its first frame is `welcome`"), ...errors(400, 403, 404, 429) },
  }),
  websocketOnly,
  allowedOrigin(),
  requireUser({ from: "query" }),
  validRoomId(),
  // Counted before the room is asked: a reconnect loop never reaches it.
  rateLimit({ rule: "connections", key: (c) => c.var.user.id }),
  async (c) => {
    const roomId = c.req.param("roomId");
    const stub = roomStub(c.env, roomId);
    // Refused here with 403/404 before any socket exists; the room checks again on upgrade. The
    // room also says where the socket goes: itself, or (a very large room) one of its shards,
    // which then gets the upgrade straight from here (README, "Very large rooms").
    const region = regionOf(c.req.raw.cf, readConfig(c.env).roomShardRegions);
    const { shard } = unwrap(await stub.admit(roomId, c.var.user, region));
    const upgrade = upgradeRequest(c.req.raw, roomId, c.var.user, log.context().requestId, shard);
    return shard === null ? stub.fetch(upgrade) : shardStub(c.env, roomId, shard).fetch(upgrade);
  },
);

/** The user socket: notifications, unread counts and presence for every device of the user (own id only). */
parties.get(
  "/user/:userId",
  describeRoute({
    tags: ["Sockets"],
    operationId: "openUserSocket",
    summary: "The user socket (WebSocket upgrade)",
    description:
      "Your own user id only (403 otherwise): `notification` and `unread` frames for every device of the user. " +
      "Authenticate as for the room socket; the client's frames are the schema UserClientFrame.",
    security: [{ ticket: [] }, { token: [] }],
    responses: { 101: noContent("Switching protocols: the socket is open"), ...errors(400, 403, 429) },
  }),
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
