import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app from "../src/app";
import { readConfig } from "../src/config";
import * as z from "../src/lib/zod";
import { buildDocument } from "../src/openapi/document";
import { responseSchemas } from "../src/openapi/schemas";
import { ERROR_STATUS, HISTORY_MAX_LIMIT, MAX_ATTACHMENTS_PER_MESSAGE } from "../src/protocol";
import { MAX_QUERY_LENGTH } from "../src/search/match";
import { api, ensureUsers, tokenFor, uniqueRoom } from "./helpers";

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: Schema;
  maxLength?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  enum?: string[];
  $ref?: string;
  allOf?: Schema[];
};
type Parameter = { in: string; name: string; required?: boolean; schema: Schema };
type Operation = {
  summary?: string;
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { description?: string; $ref?: string; content?: Record<string, { schema: Schema }> }>;
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; responses: Record<string, { content: Record<string, { schema: Schema }> }> };
};

async function served(): Promise<Document> {
  const res = await api("/api/openapi.json");
  expect(res.status).toBe(200);
  return (await res.json()) as Document;
}

/** Hono's `/a/:id` as OpenAPI's `/a/{id}`. */
const openapiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

/** Every method and path the router answers (not the `use` middleware, which answers ALL). */
function routerRoutes() {
  const seen = new Set<string>();
  for (const r of app.routes) if (r.method !== "ALL") seen.add(`${r.method.toLowerCase()} ${openapiPath(r.path)}`);
  return [...seen].map((key) => key.split(" ") as [string, string]);
}

function operations(doc: Document) {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
}

const sendBody = (doc: Document) => doc.paths["/api/rooms/{roomId}/messages"]!.post!.requestBody!.content["application/json"]!.schema;

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1, served without a token", async () => {
    const res = await api("/api/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    const doc = (await res.json()) as Document;
    expect(doc.openapi).toMatch(/^3\.1\./);
  });

  it("has every route of the router, with its method, and nothing the router does not answer", async () => {
    const doc = await served();
    const routes = routerRoutes();
    expect(routes.length).toBeGreaterThan(50);
    for (const [method, path] of routes) {
      expect(doc.paths[path]?.[method], `${method.toUpperCase()} ${path}`).toBeDefined();
    }
    const documented = operations(doc).map(({ method, path }) => `${method} ${path}`);
    expect(documented.sort()).toEqual(routes.map(([m, p]) => `${m} ${p}`).sort());
  });

  it("gives every operation a summary and described answers, and path parameters for every :param", async () => {
    const doc = await served();
    for (const { path, method, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(op.summary, where).toBeTruthy();
      expect(Object.keys(op.responses).length, where).toBeGreaterThan(0);
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.description ?? response.$ref, `${where} ${status}`).toBeTruthy();
      }
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const pathParams = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
      expect(pathParams.sort(), where).toEqual(names.sort());
    }
  });

  it("describes the socket routes as GET upgrades that answer 101", async () => {
    const doc = await served();
    for (const path of ["/parties/room/{roomId}", "/parties/user/{userId}"]) {
      const op = doc.paths[path]!.get!;
      expect(op.responses["101"]).toBeDefined();
      expect(op.security).toEqual([{ ticket: [] }, { token: [] }]);
    }
    expect(doc.components.schemas.RoomClientFrame).toBeDefined();
    expect(doc.components.schemas.UserClientFrame).toBeDefined();
  });

  it("describes the send body from the schema that validates it, with the configured text limit", async () => {
    const doc = await served();
    const body = sendBody(doc);
    expect(body.required?.sort()).toEqual(["clientId", "text"]);
    expect(body.additionalProperties).toBe(false);
    expect(body.properties!.clientId!.maxLength).toBe(100);
    expect(body.properties!.attachments!.maxItems).toBe(MAX_ATTACHMENTS_PER_MESSAGE);
    const max = readConfig(env).maxTextLength;
    expect(body.properties!.text!.maxLength).toBe(max);
    expect(doc.paths["/api/rooms/{roomId}/messages/{messageId}"]!.patch!.requestBody!.content["application/json"]!.schema.properties!.text!.maxLength).toBe(max);

    // What the document says is what the route does: one character over the limit is refused.
    const room = await uniqueRoom("oa-send");
    const token = await tokenFor("alice");
    const send = (text: string, clientId: string) => api(`/api/rooms/${room}/messages`, { method: "POST", token, json: { clientId, text } });
    expect((await send("x".repeat(max), "oa-1")).status).toBe(201);
    const over = await send("x".repeat(max + 1), "oa-2");
    expect(over.status).toBe(400);
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe("bad_request");
    // A field the schema does not allow is refused, as additionalProperties: false says.
    const extra = await api(`/api/rooms/${room}/messages`, { method: "POST", token, json: { clientId: "oa-3", text: "hi", color: "red" } });
    expect(extra.status).toBe(400);
  });

  it("follows the text limit setting", async () => {
    const doc = (await buildDocument(app, { ...readConfig(env), maxTextLength: 123 })) as unknown as Document;
    expect(sendBody(doc).properties!.text!.maxLength).toBe(123);
  });

  it("describes query parameters from the validators, numbers as the numbers they must be", async () => {
    const doc = await served();
    const history = doc.paths["/api/rooms/{roomId}/messages"]!.get!.parameters!;
    const limit = history.find((p) => p.name === "limit")!;
    expect(limit).toMatchObject({ in: "query", schema: { type: "integer", minimum: 1, maximum: HISTORY_MAX_LIMIT } });
    expect(limit.required).toBeUndefined();
    const q = doc.paths["/api/search"]!.get!.parameters!.find((p) => p.name === "q")!;
    expect(q).toMatchObject({ in: "query", required: true, schema: { type: "string", maxLength: MAX_QUERY_LENGTH } });
    const roomId = history.find((p) => p.name === "roomId")!;
    expect(roomId).toMatchObject({ in: "path", required: true, schema: { pattern: "^[A-Za-z0-9_-]{1,64}$" } });
  });

  it("documents the error shape, and real errors have it", async () => {
    const doc = await served();
    const errorBody = doc.components.schemas.ErrorBody!;
    expect(errorBody.required).toEqual(["error"]);
    expect(errorBody.properties!.error!.required).toEqual(["code", "message"]);
    expect(errorBody.properties!.error!.properties!.code!.enum!.sort()).toEqual(Object.keys(ERROR_STATUS).sort());
    for (const [name, response] of Object.entries(doc.components.responses)) {
      expect(response.content["application/json"]!.schema.allOf, name).toEqual([{ $ref: "#/components/schemas/ErrorBody" }]);
    }

    const res = await api("/api/rooms");
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(z.safeParse(responseSchemas().ErrorBody, body).success).toBe(true);
    const documented = doc.components.responses.Unauthorized!.content["application/json"]!.schema as Schema & {
      properties: { error: { properties: { code: { enum: string[] } } } };
    };
    expect(documented.properties.error.properties.code.enum).toContain((body as { error: { code: string } }).error.code);
  });

  it("refers only to schemas and answers it defines", async () => {
    const doc = await served();
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of new Set(refs)) {
      const [, , kind, name] = ref.slice(8, -1).split("/");
      expect((doc.components as Record<string, Record<string, unknown>>)[kind!]?.[name!], ref).toBeDefined();
    }
  });

  it("marks public exactly the operations that answer without a token", async () => {
    const doc = await served();
    const values: Record<string, string> = { roomId: "community", userId: "alice", messageId: "m", emoji: "x", id: "n_000000000000000000000000", attachmentId: crypto.randomUUID() };
    for (const { path, method, op } of operations(doc)) {
      const url = path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? "x");
      const headers = path.startsWith("/parties/") ? { upgrade: "websocket" } : undefined;
      const res = await api(url, { method: method.toUpperCase(), headers });
      await res.body?.cancel();
      const where = `${method.toUpperCase()} ${path}: ${res.status}`;
      if (op.security?.length === 0) expect(res.status, where).not.toBe(401);
      else {
        expect(res.status, where).toBe(401);
        expect(op.responses["401"], where).toBeDefined();
      }
    }
  });

  it("lets a page on an allowed origin read it, as any API answer", async () => {
    const res = await api("/api/openapi.json", { headers: { origin: "http://localhost:5173" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    await res.body?.cancel();
  });
});

describe("the documented answers", () => {
  it("fit what the routes answer", async () => {
    const s = responseSchemas();
    const fits = (schema: z.ZodMiniType, value: unknown) => {
      const result = z.safeParse(schema, value);
      expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
    };
    await ensureUsers(["alice", "bob"]);
    const token = await tokenFor("alice");

    const group = await api("/api/rooms/group", { method: "POST", token, json: { title: "Docs", members: ["bob"] } });
    expect(group.status).toBe(201);
    const { room } = (await group.json()) as { room: { id: string } };
    fits(s.Room, room);

    const sent = await api(`/api/rooms/${room.id}/messages`, { method: "POST", token, json: { clientId: "oa-fit", text: "hello docs" } });
    expect(sent.status).toBe(201);
    const { message } = (await sent.json()) as { message: { id: string } };
    fits(s.Message, message);
    const reacted = (await (await api(`/api/rooms/${room.id}/messages/${message.id}/reactions/👍`, { method: "PUT", token })).json()) as { message: unknown };
    fits(s.Message, reacted.message);

    const history = (await (await api(`/api/rooms/${room.id}/messages`, { token })).json()) as { messages: unknown[] };
    for (const m of history.messages) fits(s.Message, m);
    const detail = (await (await api(`/api/rooms/${room.id}`, { token })).json()) as { room: unknown; members: unknown[] };
    fits(s.Room, detail.room);
    for (const m of detail.members) fits(s.Member, m);
    const list = (await (await api("/api/rooms", { token })).json()) as { rooms: unknown[] };
    expect(list.rooms.length).toBeGreaterThan(0);
    for (const r of list.rooms) fits(s.Room, r);

    const users = (await (await api("/api/users?q=bo", { token })).json()) as { users: unknown[] };
    for (const u of users.users) fits(s.Identity, u);
    const presence = (await (await api("/api/presence?userIds=alice,bob", { token })).json()) as { users: unknown[] };
    for (const p of presence.users) fits(s.Presence, p);
    fits(s.Preferences, await (await api("/api/notifications/preferences", { token })).json());
    const feed = (await (await api("/api/notifications", { token: await tokenFor("bob") })).json()) as { notifications: unknown[] };
    for (const n of feed.notifications) fits(s.Notification, n);
    fits(s.Health, await (await api("/api/health")).json());
  });
});

describe("the API reference", () => {
  it("is an HTML page, served without a token, that reads /api/openapi.json", async () => {
    const res = await api("/api/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain("/api/openapi.json");
  });
});
