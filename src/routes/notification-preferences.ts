import { Hono } from "hono";
import type { AppEnv } from "../env";
import { zValidator } from "../lib/validate";
import { requireUser } from "../middleware/auth";
import { getPreferences, preferencesInput, updatePreferences } from "../notify/preferences";

/** The caller's notification channels (docs/notifications.md). */
const preferences = new Hono<AppEnv>();
preferences.use("*", requireUser());

preferences.get("/", async (c) => c.json(await getPreferences(c.env.DB, c.var.user.id)));

/** The whole object or any part of it; answers with everything as stored. */
preferences.put("/", zValidator("json", preferencesInput), async (c) =>
  c.json(await updatePreferences(c.env.DB, c.var.user.id, c.req.valid("json"))),
);

export default preferences;
