/**
 * Small builders for the route descriptions (hono-openapi's `describeRoute`) in src/routes/.
 * Requests are described by the validators themselves (src/lib/validate.ts); these describe
 * answers. Schemas are referred to by name: they are built only when the document is
 * (src/openapi/schemas.ts), never at startup.
 */
import type { OpenAPIV3_1 } from "openapi-types";

type Schema = OpenAPIV3_1.SchemaObject | OpenAPIV3_1.ReferenceObject;
type Response = OpenAPIV3_1.ResponseObject | OpenAPIV3_1.ReferenceObject;

/** A named schema of src/openapi/schemas.ts. */
export const ref = (name: string): OpenAPIV3_1.ReferenceObject => ({ $ref: `#/components/schemas/${name}` });

/** An object with these properties, all of them always present. */
export const object = (properties: Record<string, Schema>): Schema => ({ type: "object", properties, required: Object.keys(properties) });

/** `{ [key]: <name> }`: most answers wrap one object in a key (`{"room": ...}`). */
export const wrapped = (key: string, name: string): Schema => object({ [key]: ref(name) });

export const arrayOf = (name: string): Schema => ({ type: "array", items: ref(name) });

/** A page cursor: pass it back as `before` (or `cursor`) for the next page; null on the last. */
export const cursor = (type: "string" | "integer"): Schema => ({ type: [type, "null"], description: "The next page's cursor; null on the last page" });

/** A JSON answer: a schema name, or a schema. */
export function json(description: string, schema: string | Schema): OpenAPIV3_1.ResponseObject {
  return { description, content: { "application/json": { schema: typeof schema === "string" ? ref(schema) : schema } } };
}

export const noContent = (description: string): OpenAPIV3_1.ResponseObject => ({ description });

/** The error answers by status, each `{"error": {"code", "message"}}` (src/openapi/document.ts). */
export const ERROR_RESPONSES = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  409: "Conflict",
  413: "TooLarge",
  415: "UnsupportedType",
  429: "RateLimited",
  503: "Unavailable",
} as const;

export function errors(...statuses: (keyof typeof ERROR_RESPONSES)[]): Record<string, Response> {
  return Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/${ERROR_RESPONSES[s]}` }]));
}

/** Operations anyone may call: no token. */
export const PUBLIC: OpenAPIV3_1.SecurityRequirementObject[] = [];

/** The budget headers of an answer that counted against one (components.headers). */
export const RATE_LIMIT_HEADERS = Object.fromEntries(
  ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"].map((h) => [h, { $ref: `#/components/headers/${h}` }]),
) as Record<string, OpenAPIV3_1.ReferenceObject>;
