/** The Hono app: the REST API under /api and the socket route, one router per resource. */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./env";
import { ApiError, errorResponse } from "./lib/errors";
import { log } from "./lib/log";
import { apiCors } from "./middleware/cors";
import { requestLog } from "./middleware/request-log";
import { openapiRoutes } from "./openapi/routes";
import { codeForStatus } from "./protocol";
import admin from "./routes/admin";
import auth from "./routes/auth";
import dev from "./routes/dev";
import health from "./routes/health";
import notificationPreferences from "./routes/notification-preferences";
import parties from "./routes/parties";
import push from "./routes/push";
import rooms from "./routes/rooms";
import search from "./routes/search";
import unsubscribe from "./routes/unsubscribe";
import users from "./routes/users";
import notifications from "./routes/notifications";
import presence from "./routes/presence";
import webhooks from "./routes/webhooks";

const app = new Hono<AppEnv>();

app.use(requestLog());
app.use("/api/*", apiCors());

app.route("/api/health", health);
// GET /api/openapi.json and /api/docs: public, like health.
app.route("/api", openapiRoutes(app));
app.route("/api/auth", auth);
app.route("/api/rooms", rooms);
app.route("/api/users", users);
app.route("/api/search", search);
app.route("/api/presence", presence);
// Before /api/admin: its answer then ends the request before admin's own middleware would
// verify the token a second time.
app.route("/api/admin/webhooks", webhooks);
app.route("/api/admin", admin);
// Without sign-in (the signed link is the proof), so before anything under /api/notifications
// that requires it.
app.route("/api/notifications/unsubscribe", unsubscribe);
app.route("/api/notifications/preferences", notificationPreferences);
app.route("/api/notifications", notifications);
app.route("/api/push", push);
app.route("/api/dev", dev);
app.route("/parties", parties);

app.notFound((c) => errorResponse("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));

app.onError((err, c) => {
  if (err instanceof ApiError) return errorResponse(err.code, err.message, err.headers);
  if (err instanceof HTTPException) {
    return errorResponse(codeForStatus(err.status), err.message || "bad request");
  }
  log.error({ msg: "unexpected error", method: c.req.method, path: c.req.path, error: err });
  return errorResponse("internal", "internal error");
});

export default app;
