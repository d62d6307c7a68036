/**
 * GET /api/openapi.json (the OpenAPI document) and GET /api/docs (an interactive reference that
 * reads it). Public: they describe the API, and tell nothing about its users.
 */
import { Scalar } from "@scalar/hono-api-reference";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { readConfig } from "../config";
import type { AppEnv } from "../env";
import { noContent, PUBLIC } from "./describe";
import { buildDocument } from "./document";

export const OPENAPI_PATH = "/api/openapi.json";

/** The routes that serve the document of `app`, whose routes are read on the first request. */
export function openapiRoutes(app: Hono<AppEnv>) {
  // Built once per isolate, on its first request: the settings it reads do not change within one.
  let document: ReturnType<typeof buildDocument> | undefined;

  return new Hono<AppEnv>()
    .get(
      "/openapi.json",
      describeRoute({
        tags: ["Service"],
        operationId: "getOpenApiDocument",
        summary: "This document",
        security: PUBLIC,
        responses: { 200: { description: "The OpenAPI 3.1 document", content: { "application/json": { schema: { type: "object" } } } } },
      }),
      async (c) => {
        document ??= buildDocument(app, readConfig(c.env)).catch((err: unknown) => {
          document = undefined;
          throw err;
        });
        return c.json(await document);
      },
    )
    .get(
      "/docs",
      describeRoute({
        tags: ["Service"],
        operationId: "getApiReference",
        summary: "An interactive reference to this API",
        description: "An HTML page (Scalar) that reads /api/openapi.json; its script comes from a CDN.",
        security: PUBLIC,
        responses: { 200: { ...noContent("The page"), content: { "text/html": { schema: { type: "string" } } } } },
      }),
      Scalar({ url: OPENAPI_PATH, pageTitle: "edge-chat API" }),
    );
}
