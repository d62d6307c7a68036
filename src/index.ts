import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { removeUnclaimed } from "./attachments/cleanup";
import type { AppEnv, Bindings } from "./env";
import { ApiError, errorResponse } from "./lib/errors";
import { codeForStatus } from "./protocol";
import auth from "./routes/auth";
import health from "./routes/health";
import parties from "./routes/parties";
import rooms from "./routes/rooms";
import search from "./routes/search";
import users from "./routes/users";

export { Limiter } from "./limits";
export { Room } from "./room/Room";

const app = new Hono<AppEnv>();

app.route("/api/health", health);
app.route("/api/auth", auth);
app.route("/api/rooms", rooms);
app.route("/api/users", users);
app.route("/api/search", search);
app.route("/parties", parties);

app.notFound((c) => errorResponse("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));

app.onError((err, c) => {
  if (err instanceof ApiError) return errorResponse(err.code, err.message, err.headers);
  if (err instanceof HTTPException) {
    return errorResponse(codeForStatus(err.status), err.message || "bad request");
  }
  console.error(`${c.req.method} ${c.req.path}`, err);
  return errorResponse("internal", "internal error");
});

export default {
  fetch: app.fetch,
  // The hourly cron (wrangler.toml [triggers]): uploads no message claimed within a day.
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(removeUnclaimed(env));
  },
  // Tests call the app in-process through Hono's `request` (test/rest.test.ts, test/jwt.test.ts).
  request: app.request,
} satisfies ExportedHandler<Bindings> & Pick<typeof app, "request">;
