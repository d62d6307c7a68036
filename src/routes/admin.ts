/**
 * Administration, for users with the service role `admin` (token claim or ADMIN_USER_IDS);
 * anyone else gets 403. docs/administration.md says what each answer means.
 */
import { Hono } from "hono";
import { statsStub, ACTIVE_WINDOW_MS } from "../admin/stats";
import { storedCounts } from "../db/admin";
import type { AppEnv } from "../env";
import { adminOnly, requireUser } from "../middleware/auth";

const admin = new Hono<AppEnv>();
admin.use("*", requireUser(), adminOnly());

/**
 * Live counters from the rooms' reports (a few seconds behind), stored ones from D1 (flushed
 * messages: a message reaches D1 within FLUSH_INTERVAL_MS of being sent).
 */
admin.get("/stats", async (c) => {
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

export default admin;
