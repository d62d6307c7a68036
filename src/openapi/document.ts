/**
 * The OpenAPI 3.1 document of the Worker's routes, built by hono-openapi from the Hono router
 * itself: every route, with the descriptions the routes attach (`describeRoute`) and, for its
 * input, the zod schema its validator checks (src/lib/validate.ts), converted by zod's own
 * `toJSONSchema`. Built on request (src/openapi/routes.ts caches it per isolate).
 */
import type { Hono } from "hono";
import { findTargetHandler } from "hono/utils/handler";
import { generateSpecs, loadVendor, resolver, uniqueSymbol } from "hono-openapi";
import { toJSONSchema, type $ZodType, type JSONSchema } from "zod/v4/core";
// A named import: the bundler inlines this one string and leaves the rest of package.json out.
import { version } from "../../package.json";
import type { Config } from "../config";
import type { AppEnv } from "../env";
import { VALIDATES } from "../lib/validate";
import * as z from "../lib/zod";
import { clientFrame, ERROR_STATUS, ROOM_ID_PATTERN, sendInput, USER_ID_PATTERN, userClientFrame } from "../protocol";
import { editInput } from "../routes/messages";
import { ERROR_RESPONSES } from "./describe";
import { responseSchemas } from "./schemas";

type JsonSchema = JSONSchema.BaseSchema;
type Override = (ctx: { zodSchema: $ZodType; jsonSchema: JsonSchema }) => void;
type Document = Awaited<ReturnType<typeof generateSpecs>>;

// hono-openapi converts through @standard-community/standard-json, which looks up a converter
// by the schema's vendor; this registers zod's own (and the Worker bundle's stand-in for that
// package, src/openapi/standard-json.ts, has no other).
loadVendor("zod", { toJSONSchema: (schema, options) => toJSONSchema(schema as $ZodType, options) as never });

const TAGS = [
  { name: "Auth", description: "Tokens and socket tickets" },
  { name: "Rooms", description: "Rooms, their members and your place in them" },
  { name: "Messages", description: "History, sending, edits, reactions and receipts" },
  { name: "Attachments", description: "Files for messages (docs/attachments.md)" },
  { name: "Search", description: "Full-text search over your rooms (docs/search.md)" },
  { name: "Users", description: "The member directory and presence" },
  { name: "Notifications", description: "The notification feed, preferences, Web Push and email (docs/notifications.md)" },
  { name: "Sockets", description: "WebSocket upgrades: the room socket and the user socket" },
  { name: "Administration", description: "For the `admin` service role (docs/administration.md, docs/webhooks.md)" },
  { name: "Service", description: "Health, local development helpers and this document" },
];

const ERROR_TEXT: Record<keyof typeof ERROR_RESPONSES, string> = {
  400: "Invalid input (`bad_request`): the message says what and where",
  401: "No valid token (`unauthorized`): missing, malformed, badly signed or expired",
  403: "Not allowed (`forbidden`): not a member of the room, or without the role it needs",
  404: "No such thing (`not_found`)",
  409: "In conflict with what is there (`conflict`), or the same text again within 10 s (`duplicate`)",
  413: "Too large (`too_large`)",
  415: "Not an accepted file type, or not the type it was declared as (`unsupported_type`)",
  429: "Over a limit (`rate_limited`); `Retry-After` says in how many seconds to try again",
  503: "A service it needs is not answering (`unavailable`); try again shortly",
};

const RATE_HEADERS = {
  "X-RateLimit-Limit": { description: "The budget of the window", schema: { type: "integer" } },
  "X-RateLimit-Remaining": { description: "What is left of it", schema: { type: "integer" } },
  "X-RateLimit-Reset": { description: "When the budget is whole again, in Unix seconds", schema: { type: "integer" } },
} as const;

function errorResponses() {
  const responses: Record<string, object> = {};
  for (const [status, name] of Object.entries(ERROR_RESPONSES)) {
    const codes = Object.entries(ERROR_STATUS).filter(([, s]) => String(s) === status).map(([code]) => code);
    responses[name] = {
      description: ERROR_TEXT[Number(status) as keyof typeof ERROR_RESPONSES],
      content: {
        "application/json": {
          schema: {
            allOf: [{ $ref: "#/components/schemas/ErrorBody" }],
            properties: { error: { properties: { code: { enum: codes } } } },
          },
        },
      },
      ...(status === "429" || status === "503"
        ? { headers: { "Retry-After": { description: "Seconds to wait before trying again", schema: { type: "integer" } } } }
        : {}),
    };
  }
  return responses;
}

/**
 * Adjusts what zod writes where the schema alone does not tell a client the whole rule:
 * message text, whose limit is a setting checked after the schema (`checkText`), and query
 * values that the schema turns into numbers, described as the numbers they must be.
 */
function overrides(config: Config): Override {
  const messageText = new Set<unknown>([sendInput.shape.text, editInput.shape.text]);
  return ({ zodSchema, jsonSchema }) => {
    // zod bounds every integer by the safe range; said on every number, it only adds noise.
    if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    if (messageText.has(zodSchema)) {
      jsonSchema.maxLength = config.maxTextLength;
      jsonSchema.description = `At most ${config.maxTextLength} characters (code points) once trimmed (MAX_TEXT_LENGTH); no control characters`;
      return;
    }
    const def = zodSchema._zod.def as { type: string; out?: $ZodType };
    if (def.type === "pipe" && def.out?._zod.def.type === "number") {
      const { $schema: _, ...number } = toJSONSchema(def.out, { io: "output" });
      for (const key of Object.keys(jsonSchema)) delete (jsonSchema as Record<string, unknown>)[key];
      Object.assign(jsonSchema, number);
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    }
  };
}

/** Each validator's schema, as hono-openapi reads it from a route's handlers. */
function describeValidators(app: Hono<AppEnv>, override: Override) {
  for (const route of app.routes) {
    const handler = findTargetHandler(route.handler) as unknown as { [VALIDATES]?: { target: string; schema: $ZodType } } & Record<symbol, unknown>;
    const validates = handler[VALIDATES];
    if (!validates) continue;
    // The schema is zod (`~standard` included); hono-openapi's types ask for Standard Schema.
    const schema = validates.schema as unknown as Parameters<typeof resolver>[0];
    handler[uniqueSymbol] = { target: validates.target, ...resolver(schema, { options: { unrepresentable: "any", override } }) };
  }
}

/** Response shapes, and the socket frames clients send, as named schemas that refer to each other. */
function componentSchemas(override: Override): Record<string, object> {
  const registry = z.registry<{ id: string; description?: string }>();
  for (const [id, schema] of Object.entries(responseSchemas())) registry.add(schema, { id });
  registry.add(clientFrame, { id: "RoomClientFrame", description: "What a client may send on the room socket" });
  registry.add(userClientFrame, { id: "UserClientFrame", description: "What a client may send on the user socket" });
  // "input": objects stay open (no additionalProperties: false), since answers may gain fields.
  const { schemas } = toJSONSchema(registry, { io: "input", unrepresentable: "any", override, uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _, $id: __, ...schema }]) => [id, schema]));
}

const PATH_PARAMETERS: Record<string, object> = {
  roomId: { type: "string", pattern: ROOM_ID_PATTERN.source, description: "A room id: 1-64 letters, digits, '-' or '_'" },
  userId: { type: "string", pattern: USER_ID_PATTERN.source, description: "A user id: 1-64 letters, digits, '-' or '_'" },
};

type Operation = {
  security?: unknown[];
  parameters?: { in: string; name: string; schema?: object; description?: string }[];
  responses?: Record<string, unknown>;
};

/** What hono-openapi cannot know: the id rules of path parameters, and 401 wherever a token is needed. */
function finish(document: Document) {
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item ?? {}) as Operation[]) {
      if (typeof operation !== "object" || operation === null) continue;
      for (const parameter of operation.parameters ?? []) {
        const known = PATH_PARAMETERS[parameter.name];
        if (parameter.in === "path" && known && JSON.stringify(parameter.schema) === '{"type":"string"}') parameter.schema = known;
      }
      const secured = operation.security === undefined || operation.security.length > 0;
      if (secured) operation.responses = { ...operation.responses, 401: { $ref: "#/components/responses/Unauthorized" } };
    }
  }
  return document;
}

/**
 * The document of `app` under `config`. It marks the router's validators for this build, so two
 * builds must not overlap; the Worker makes one per isolate (src/openapi/routes.ts).
 */
export async function buildDocument(app: Hono<AppEnv>, config: Config): Promise<Document> {
  const override = overrides(config);
  describeValidators(app, override);
  const document = await generateSpecs(app, {
    documentation: {
      info: {
        title: "edge-chat",
        version,
        description:
          "Realtime chat on Cloudflare Workers: rooms, history, live sockets, notifications. " +
          "Every answer is JSON; times are ISO-8601 in UTC; every error is `{\"error\": {\"code\", \"message\"}}`. " +
          "REST answers that count against a budget carry `X-RateLimit-Limit`, `-Remaining` and `-Reset`. " +
          "The socket frames are described in docs/API.md.",
      },
      tags: TAGS,
      security: [{ bearer: [] }],
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "`Authorization: Bearer <JWT>`: HS256 with JWT_SECRET, or RS256/ES256 from JWKS_URL" },
          ticket: { type: "apiKey", in: "query", name: "ticket", description: "Sockets: a single-use ticket from POST /api/auth/ticket, valid for 60 s" },
          token: { type: "apiKey", in: "query", name: "token", description: "Sockets: the JWT itself (it then appears in the URL; prefer a ticket)" },
        },
        schemas: componentSchemas(override),
        responses: errorResponses() as never,
        headers: RATE_HEADERS as never,
      },
    },
    // Every route, described or not; `/api/openapi.json` is not a static file.
    includeEmptyPaths: true,
    excludeStaticFile: false,
    defaultValidationErrorResponse: { $ref: "#/components/responses/BadRequest" } as never,
  });
  return finish(document);
}
