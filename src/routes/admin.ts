/**
 * Administration, for users with the service role `admin` (token claim or ADMIN_USER_IDS);
 * anyone else gets 403. docs/administration.md says what each answer means.
 */
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { errors, json } from "../openapi/describe";
import { eraserStub } from "../admin/erasure";
import { retentionStub } from "../admin/retention";
import { readConfig } from "../config";
import { statsStub, ACTIVE_WINDOW_MS } from "../admin/stats";
import { storedCounts } from "../db/admin";
import { findUsers } from "../db/users";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { userId } from "../lib/params";
import { zValidator } from "../lib/validate";
import * as z from "../lib/zod";
import { adminOnly, requireUser } from "../middleware/auth";
import type { BroadcastMessage } from "../notify/events";

const admin = new Hono<AppEnv>();
admin.use("*", requireUser(), adminOnly());

/**
 * Live counters from the rooms' reports (a few seconds behind), stored ones from D1 (flushed
 * messages: a message reaches D1 within FLUSH_INTERVAL_MS of being sent).
 */
admin.get("/stats", describeRoute({
  tags: ["Administration"],
  operationId: "getStats",
  summary: "Live and stored counters",
  description: "Live counters come from the rooms' reports (a few seconds behind); `rooms` and `messagesLastHour` from D1.",
  responses: {
    200: json("The counters", {
      type: "object",
      properties: Object.fromEntries(
        ["connectedClients", "onlineUsers", "typingUsers", "rooms", "activeRooms", "messagesLastHour"].map((k) => [k, { type: "integer" }]),
      ),
    }),
    ...errors(403),
  },
}), async (c) => {
  const now = Date.now();
  const [live, stored] = await Promise.all([
    statsStub(c.env).totals(now),
    storedCounts(c.env.DB, new Date(now - ACTIVE_WINDOW_MS)),
  ]);
  return c.json({
    connectedClients: live.connectedClients,
    onlineUsers: live.onlineUsers,
    typingUsers: live.typingUsers,
    rooms: stored.rooms,
    activeRooms: live.activeRooms,
    messagesLastHour: stored.messages,
  });
});

const broadcastBody = z.object({
  title: z.string().check(z.trim(), z.minLength(1, "title must not be empty"), z.maxLength(100, "title is at most 100 characters")),
  body: z.string().check(z.trim(), z.minLength(1, "body must not be empty"), z.maxLength(1000, "body is at most 1000 characters")),
  userIds: z.optional(
    z.array(userId).check(z.minLength(1, "userIds: give at least one user, or leave it out for everyone"), z.maxLength(1000, "userIds: at most 1000 users")),
  ),
});

/**
 * A broadcast notification: to the listed users, or to every member. 202: it goes through the
 * events queue (src/notify/consumer.ts), a page of members per queue message.
 */
admin.post("/notifications", describeRoute({
  tags: ["Administration"],
  operationId: "broadcastNotification",
  summary: "Send a broadcast notification",
  description: "To the listed users, or to every member when `userIds` is absent; delivered through the events queue.",
  responses: {
    202: json("Queued", {
      type: "object",
      properties: { broadcast: { type: "object", properties: { id: { type: "string" }, recipients: { oneOf: [{ type: "integer" }, { const: "all" }] } } } },
    }),
    ...errors(403),
  },
}), zValidator("json", broadcastBody), async (c) => {
  const { title, body, userIds } = c.req.valid("json");
  const id = `bc_${crypto.randomUUID()}`;
  const message: BroadcastMessage = { kind: "broadcast", id, title, body, createdAt: new Date().toISOString(), userIds: userIds ? [...new Set(userIds)] : null };
  await c.env.EVENTS.send(message);
  return c.json({ broadcast: { id, recipients: userIds ? message.userIds!.length : "all" } }, 202);
});

const userParam = z.object({ userId });

/**
 * Erases a user: 202 with the job's status; the job runs on (GET the same path to follow it).
 * Erasing again is harmless: a running erasure goes on, a finished one runs again and finds
 * whatever is left. A user D1 has never seen: 404.
 */
admin.post("/users/:userId/erase", describeRoute({
  tags: ["Administration"],
  operationId: "eraseUser",
  summary: "Erase a user",
  description:
    "Every message of the user becomes a deleted tombstone, and their files, notifications, push subscriptions and memberships go. " +
    "Runs on after the answer (GET the same path to follow it); erasing again is harmless.",
  responses: { 202: json("Started, or still running", { type: "object", properties: { erasure: { type: "object" } } }), ...errors(403, 404) },
}), zValidator("param", userParam), async (c) => {
  const { userId } = c.req.valid("param");
  if (!(await findUsers(c.env.DB, [userId])).has(userId)) throw new ApiError("not_found", `no user ${userId}`);
  return c.json({ erasure: await eraserStub(c.env, userId).begin({ userId }) }, 202);
});

/** The erasure's status: `running` or `done`, its step, rooms done of all, failures. */
admin.get("/users/:userId/erase", describeRoute({
  tags: ["Administration"],
  operationId: "getErasure",
  summary: "Follow an erasure",
  description: "`status` is `running` or `done`, with its step, rooms done of all, and failures.",
  responses: { 200: json("The erasure's status", { type: "object", properties: { erasure: { type: "object" } } }), ...errors(403, 404) },
}), zValidator("param", userParam), async (c) => {
  const { userId } = c.req.valid("param");
  const status = await eraserStub(c.env, userId).status();
  if (status === null) throw new ApiError("not_found", `${userId} was never erased`);
  return c.json({ erasure: status });
});

/** Retention's setting and its last (or current) run: cutoff, `running` or `done`, rows removed. */
admin.get("/retention", describeRoute({
  tags: ["Administration"],
  operationId: "getRetention",
  summary: "Retention's setting and its last run",
  responses: {
    200: json("RETENTION_DAYS (0: kept forever) and the last (or current) run", {
      type: "object",
      properties: { retentionDays: { type: "integer" }, run: { type: ["object", "null"] } },
    }),
    ...errors(403),
  },
}), async (c) => {
  return c.json({ retentionDays: readConfig(c.env).retentionDays, run: await retentionStub(c.env).status() });
});

export default admin;
