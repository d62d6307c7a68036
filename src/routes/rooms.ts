import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { arrayOf, cursor, errors, json, noContent, object, ref, wrapped } from "../openapi/describe";
import { listRooms, roomMembers, roomView, setArchived, type ListCursor, type RoomView } from "../db/rooms";
import { ROLES } from "../db/schema";
import { findUsers } from "../db/users";
import type { AppEnv, Bindings } from "../env";
import { ApiError } from "../lib/errors";
import { positiveInt, userId } from "../lib/params";
import { roomStub, unwrap } from "../lib/room-rpc";
import { zValidator } from "../lib/validate";
import * as z from "../lib/zod";
import { membersOnly, requireUser } from "../middleware/auth";
import { validRoomId } from "../middleware/room-id";
import { TOPICS_DEFAULT_LIMIT, TOPICS_MAX_LIMIT } from "../topics";
import { ROOM_ID_PATTERN, seqSchema, titleSchema, type Identity } from "../protocol";
import { MAX_SLOW_MODE_S } from "../room/guards";
import attachments from "./attachments";
import messages from "./messages";

const ROOM_LIST_DEFAULT = 50;
const ROOM_LIST_MAX = 200;

const listQuery = z.object({
  limit: z.optional(positiveInt(ROOM_LIST_MAX)),
  cursor: z.optional(z.string().check(z.maxLength(400))),
  archived: z.optional(z.enum(["true", "false"])),
});
const directBody = z.strictObject({ userId });
const groupBody = z.strictObject({
  title: titleSchema,
  members: z.array(userId).check(z.minLength(1, "a group needs at least one other member"), z.maxLength(500)),
});
const addBody = z.strictObject({ userId, role: z._default(z.enum(ROLES), "member") });
const roleBody = z.strictObject({ role: z.enum(ROLES) });
const patchBody = z
  .strictObject({
    title: z.optional(titleSchema),
    slowModeSeconds: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(MAX_SLOW_MODE_S))),
  })
  .check(z.refine((p) => p.title !== undefined || p.slowModeSeconds !== undefined, "give title or slowModeSeconds"));

const rooms = new Hono<AppEnv>();
rooms.use("*", requireUser());
rooms.use("/:roomId", validRoomId());
rooms.use("/:roomId/*", validRoomId());
rooms.route("/:roomId/messages", messages);
rooms.route("/:roomId/attachments", attachments);

rooms.get("/", describeRoute({
  tags: ["Rooms"],
  operationId: "listRooms",
  summary: "Your rooms",
  description: "Newest activity first. `archived=true` lists the rooms you archived instead.",
  responses: { 200: json("A page", object({ rooms: arrayOf("Room"), nextCursor: cursor("string") })) },
}), zValidator("query", listQuery), async (c) => {
  const { limit = ROOM_LIST_DEFAULT, cursor, archived } = c.req.valid("query");
  const after = cursor ? decodeCursor(cursor) : undefined;
  const page = await listRooms(c.env.DB, c.var.user, limit + 1, after, archived === "true");
  const more = page.length > limit;
  const list = page.slice(0, limit);
  const last = list.at(-1);
  return c.json({ rooms: list, nextCursor: more && last ? encodeCursor({ at: last.lastActivityAt, id: last.id }) : null });
});

rooms.post("/direct", describeRoute({
  tags: ["Rooms"],
  operationId: "openDirectRoom",
  summary: "Open a direct room with another member",
  description: "One direct room per pair: 201 when it is new, 200 with the existing one. Members only.",
  responses: { 201: json("A new room", wrapped("room", "Room")), 200: json("The existing room", wrapped("room", "Room")), ...errors(403, 404) },
}), membersOnly(), zValidator("json", directBody), async (c) => {
  const me = c.var.user;
  const { userId: otherId } = c.req.valid("json");
  if (otherId === me.id) throw new ApiError("bad_request", "a direct room needs someone other than you");
  const other = (await findUsers(c.env.DB, [otherId])).get(otherId);
  if (!other || other.kind !== "member") throw new ApiError("not_found", `no member ${otherId}`);
  const id = await directRoomId(me.id, otherId);
  const now = new Date().toISOString();
  const { created } = unwrap(
    await roomStub(c.env, id).create({ id, kind: "direct", title: null, createdBy: me.id, createdAt: now }, [
      { id: me.id, name: me.name, role: "member" },
      { id: other.id, name: other.name, role: "member" },
    ]),
  );
  return c.json({ room: await viewFor(c.env, me, id) }, created ? 201 : 200);
});

rooms.post("/group", describeRoute({
  tags: ["Rooms"],
  operationId: "createGroup",
  summary: "Create a group",
  description: "You are its admin; every other member must be a member of the service. Members only.",
  responses: { 201: json("The new group", wrapped("room", "Room")), ...errors(403) },
}), membersOnly(), zValidator("json", groupBody), async (c) => {
  const me = c.var.user;
  const { title, members } = c.req.valid("json");
  const others = [...new Set(members)].filter((id) => id !== me.id);
  if (others.length === 0) throw new ApiError("bad_request", "a group needs at least one other member");
  const found = await findUsers(c.env.DB, others);
  const missing = others.filter((id) => found.get(id)?.kind !== "member");
  if (missing.length > 0) throw new ApiError("bad_request", `not members: ${missing.slice(0, 5).join(", ")}`);
  const id = `g-${crypto.randomUUID()}`;
  const now = new Date().toISOString();
  unwrap(
    await roomStub(c.env, id).create({ id, kind: "group", title, createdBy: me.id, createdAt: now }, [
      { id: me.id, name: me.name, role: "admin" },
      ...others.map((o) => ({ id: o, name: found.get(o)!.name, role: "member" as const })),
    ]),
  );
  return c.json({ room: await viewFor(c.env, me, id) }, 201);
});

rooms.get("/:roomId", describeRoute({
  tags: ["Rooms"],
  operationId: "getRoom",
  summary: "A room and its members",
  responses: { 200: json("The room", object({ room: ref("Room"), members: arrayOf("Member") })), ...errors(400, 403, 404) },
}), async (c) => {
  const roomId = c.req.param("roomId");
  unwrap(await roomStub(c.env, roomId).access(roomId, c.var.user));
  // Visitors see who is in their room but never the wider directory.
  return c.json({ room: await viewFor(c.env, c.var.user, roomId), members: await roomMembers(c.env.DB, roomId) });
});

rooms.patch("/:roomId", describeRoute({
  tags: ["Rooms"],
  operationId: "updateRoom",
  summary: "Rename a group, or set slow mode",
  description: "Admins of a group; for the community room, service admins. Slow mode: seconds between one member's messages.",
  responses: { 200: json("The room", wrapped("room", "Room")), ...errors(403, 404) },
}), zValidator("json", patchBody), async (c) => {
  const roomId = c.req.param("roomId");
  unwrap(await roomStub(c.env, roomId).updateRoom(roomId, c.var.user, c.req.valid("json")));
  return c.json({ room: await viewFor(c.env, c.var.user, roomId) });
});

rooms.post("/:roomId/members", describeRoute({
  tags: ["Rooms"],
  operationId: "addMember",
  summary: "Add a member",
  description: "Room admins.",
  responses: { 201: json("The new member", wrapped("member", "Member")), ...errors(403, 404, 409) },
}), zValidator("json", addBody), async (c) => {
  const roomId = c.req.param("roomId");
  const { userId: targetId, role } = c.req.valid("json");
  const target = await knownUser(c.env, targetId);
  const member = unwrap(await roomStub(c.env, roomId).addMember(roomId, c.var.user, target, role));
  return c.json({ member }, 201);
});

rooms.patch("/:roomId/members/:userId", describeRoute({
  tags: ["Rooms"],
  operationId: "setMemberRole",
  summary: "Change a member's role",
  description: "Room admins.",
  responses: { 200: json("The member", wrapped("member", "Member")), ...errors(403, 404, 409) },
}), zValidator("json", roleBody), async (c) => {
  const roomId = c.req.param("roomId");
  const target = await knownUser(c.env, c.req.param("userId"));
  const member = unwrap(await roomStub(c.env, roomId).setRole(roomId, c.var.user, target, c.req.valid("json").role));
  return c.json({ member });
});

rooms.delete("/:roomId/members/:userId", describeRoute({
  tags: ["Rooms"],
  operationId: "removeMember",
  summary: "Remove a member, or leave",
  description: "Admins and moderators remove others; anyone may leave. The last admin leaving names a `successor`.",
  responses: { 204: noContent("Removed"), ...errors(403, 404, 409) },
}), zValidator("query", z.object({ successor: z.optional(userId) })), async (c) => {
  const roomId = c.req.param("roomId");
  const { successor } = c.req.valid("query");
  unwrap(await roomStub(c.env, roomId).removeMember(roomId, c.var.user, c.req.param("userId"), successor));
  return c.body(null, 204);
});

rooms.post("/:roomId/read", describeRoute({
  tags: ["Rooms"],
  operationId: "markRead",
  summary: "Move your read position",
  description: "Only moves forward; the room list's unread count follows at once.",
  responses: { 204: noContent("Recorded"), ...errors(403, 404) },
}), zValidator("json", z.strictObject({ seq: seqSchema })), async (c) => {
  const roomId = c.req.param("roomId");
  unwrap(await roomStub(c.env, roomId).markRead(roomId, c.var.user, c.req.valid("json").seq));
  return c.body(null, 204);
});

// Archiving is the caller's own view of the room list, so it lives in D1 beside their membership.
rooms.put("/:roomId/archive", describeRoute({
  tags: ["Rooms"],
  operationId: "archiveRoom",
  summary: "Archive a room for you alone",
  description: "It leaves your room list until a new message arrives in it.",
  responses: { 204: noContent("Archived"), ...errors(400, 403, 404) },
}), async (c) => {
  const roomId = c.req.param("roomId");
  unwrap(await roomStub(c.env, roomId).access(roomId, c.var.user));
  if (!(await setArchived(c.env.DB, roomId, c.var.user, new Date().toISOString()))) {
    throw new ApiError("not_found", "no such room in your list");
  }
  return c.body(null, 204);
});

rooms.delete("/:roomId/archive", describeRoute({
  tags: ["Rooms"],
  operationId: "unarchiveRoom",
  summary: "Bring an archived room back",
  responses: { 204: noContent("Back in your list"), ...errors(400, 403, 404) },
}), async (c) => {
  const roomId = c.req.param("roomId");
  unwrap(await roomStub(c.env, roomId).access(roomId, c.var.user));
  if (!(await setArchived(c.env.DB, roomId, c.var.user, null))) throw new ApiError("not_found", "no such room in your list");
  return c.body(null, 204);
});

rooms.get("/:roomId/presence", describeRoute({
  tags: ["Rooms"],
  operationId: "getRoomPresence",
  summary: "Who is online in a room",
  responses: { 200: json("The room's online members", object({ online: arrayOf("OnlineUser") })), ...errors(400, 403, 404) },
}), async (c) => {
  const roomId = c.req.param("roomId");
  return c.json({ online: unwrap(await roomStub(c.env, roomId).getPresence(roomId, c.var.user)) });
});

rooms.get("/:roomId/topics", describeRoute({
  tags: ["Rooms"],
  operationId: "getTopics",
  summary: "The words a room talks about",
  description: "Best first; mentions halve in weight every hour (docs/topics.md).",
  responses: { 200: json("The topics", object({ topics: arrayOf("Topic") })), ...errors(403, 404) },
}), zValidator("query", z.object({ limit: z.optional(positiveInt(TOPICS_MAX_LIMIT)) })), async (c) => {
  const roomId = c.req.param("roomId");
  const { limit = TOPICS_DEFAULT_LIMIT } = c.req.valid("query");
  return c.json(unwrap(await roomStub(c.env, roomId).getTopics(roomId, c.var.user, limit)));
});

/** One direct room per pair, whoever asks first: its id is derived from the two user ids. */
async function directRoomId(a: string, b: string): Promise<string> {
  const pair = [a, b].sort().join("\n");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pair)));
  const b64 = btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `dm-${b64}`;
}

async function viewFor(env: Bindings, user: Identity, roomId: string): Promise<RoomView> {
  const view = await roomView(env.DB, user, roomId);
  if (!view) throw new ApiError("not_found", "no such room");
  return view;
}

async function knownUser(env: Bindings, id: string): Promise<Identity> {
  if (!userId.safeParse(id).success) throw new ApiError("bad_request", "invalid user id");
  const user = (await findUsers(env.DB, [id])).get(id);
  if (!user) throw new ApiError("not_found", `no user ${id}`);
  return user;
}

function encodeCursor(cursor: ListCursor): string {
  return btoa(JSON.stringify([cursor.at, cursor.id])).replace(/=+$/, "");
}

/** Cursors are opaque to clients; anything that is not one we made is refused. */
function decodeCursor(raw: string): ListCursor {
  try {
    const value: unknown = JSON.parse(atob(raw));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === "string" &&
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value[0]) &&
      typeof value[1] === "string" &&
      ROOM_ID_PATTERN.test(value[1])
    ) {
      return { at: value[0], id: value[1] };
    }
  } catch {
    // fall through
  }
  throw new ApiError("bad_request", "invalid cursor");
}

export default rooms;
