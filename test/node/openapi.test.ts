/// <reference types="node" />
/**
 * The OpenAPI document as the built Worker serves it, through `wrangler dev`. In workerd the
 * tests (test/openapi.test.ts) load hono-openapi's own dependencies; the bundle wrangler builds
 * swaps one of them for src/openapi/standard-json.ts (wrangler.toml `[alias]`), and only this
 * test sees the document made that way.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../scripts/dev-server";

let server: DevServer;
beforeAll(async () => {
  server = await startDevServer({ vars: { MAX_TEXT_LENGTH: "321" } });
});
afterAll(async () => {
  await server?.stop();
});

type Schema = { properties?: Record<string, Schema>; maxLength?: number; maxItems?: number; required?: string[] };

describe("the built Worker's OpenAPI document", () => {
  it("converts the validators' schemas, with the configured text limit", async () => {
    const res = await fetch(`${server.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>>;
      components: { schemas: Record<string, Schema> };
    };
    expect(doc.openapi).toMatch(/^3\.1\./);
    const send = doc.paths["/api/rooms/{roomId}/messages"]!.post!.requestBody!.content["application/json"]!.schema;
    expect(send.required?.sort()).toEqual(["clientId", "text"]);
    expect(send.properties!.text!.maxLength).toBe(321);
    expect(send.properties!.clientId!.maxLength).toBe(100);
    expect(doc.components.schemas.Message!.required).toContain("seq");
  });

  it("serves the reference page that reads it", async () => {
    const res = await fetch(`${server.url}/api/docs`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("/api/openapi.json");
  });
});
