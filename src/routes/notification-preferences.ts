import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { json } from "../openapi/describe";
import type { AppEnv } from "../env";
import { zValidator } from "../lib/validate";
import { requireUser } from "../middleware/auth";
import { getPreferences, preferencesInput, updatePreferences } from "../notify/preferences";

/** The caller's notification channels (docs/notifications.md). */
const preferences = new Hono<AppEnv>();
preferences.use("*", requireUser());

preferences.get("/", describeRoute({
  tags: ["Notifications"],
  operationId: "getPreferences",
  summary: "Your notification channels",
  responses: { 200: json("As stored (defaults until first changed)", "Preferences") },
}), async (c) => c.json(await getPreferences(c.env.DB, c.var.user.id)));

/** The whole object or any part of it; answers with everything as stored. */
preferences.put("/", describeRoute({
  tags: ["Notifications"],
  operationId: "updatePreferences",
  summary: "Change your notification channels",
  description: "The whole object or any part of it.",
  responses: { 200: json("Everything as now stored", "Preferences") },
}), zValidator("json", preferencesInput), async (c) =>
  c.json(await updatePreferences(c.env.DB, c.var.user.id, c.req.valid("json"))),
);

export default preferences;
