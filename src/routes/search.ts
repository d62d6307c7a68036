import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { arrayOf, cursor, errors, json, object } from "../openapi/describe";
import type { AppEnv } from "../env";
import { positiveInt } from "../lib/params";
import { roomStub, unwrap } from "../lib/room-rpc";
import { zValidator } from "../lib/validate";
import * as z from "../lib/zod";
import { requireUser } from "../middleware/auth";
import { ROOM_ID_PATTERN } from "../protocol";
import { cursorSchema } from "../search/cursor";
import { searchMessages } from "../search/find";
import { matchExpression, MAX_QUERY_LENGTH } from "../search/match";
import { rateLimit } from "../limits/http";

const SEARCH_DEFAULT_LIMIT = 20;
const SEARCH_MAX_LIMIT = 50;

const searchQuery = z.object({
  q: z.pipe(
    z.string().check(z.maxLength(MAX_QUERY_LENGTH, `at most ${MAX_QUERY_LENGTH} characters`)),
    z.transform((q: string, ctx) => {
      const match = matchExpression(q);
      if (match === null) {
        ctx.issues.push({ code: "custom", message: "nothing to search for: give at least one word", input: q });
        return z.NEVER;
      }
      return match;
    }),
  ),
  roomId: z.optional(z.string().check(z.regex(ROOM_ID_PATTERN, "invalid room id"))),
  limit: z.optional(positiveInt(SEARCH_MAX_LIMIT)),
  before: z.optional(cursorSchema),
});

/**
 * GET /api/search — message text across the caller's rooms (docs/search.md). Visitors may
 * search too: the membership join confines everyone to their own rooms.
 */
const search = new Hono<AppEnv>();
search.use("*", requireUser());

search.get("/", describeRoute({
  tags: ["Search"],
  operationId: "searchMessages",
  summary: "Search message text in your rooms",
  description: "Words match by prefix; `\"...\"` is a phrase. Only the caller's rooms, or the one `roomId` (docs/search.md).",
  responses: { 200: json("Best match first", object({ results: arrayOf("SearchResult"), nextBefore: cursor("string") })), ...errors(403, 404, 429) },
}), zValidator("query", searchQuery), rateLimit({ rule: "searches", key: (c) => c.var.user.id }), async (c) => {
  const { q: match, roomId, limit = SEARCH_DEFAULT_LIMIT, before } = c.req.valid("query");
  const user = c.var.user;
  // The room is the authority on its membership: 404 for no such room, 403 for outsiders.
  if (roomId !== undefined) unwrap(await roomStub(c.env, roomId).access(roomId, user));
  return c.json(await searchMessages(c.env.DB, { userId: user.id, match, roomId, limit, before }));
});

export default search;
