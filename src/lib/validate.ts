/**
 * Request validation with zod that fails in the contract's error shape. Bodies that are not
 * JSON, and JSON that does not fit the schema, both become 400 bad_request. Takes any zod core
 * schema (ours are zod/mini: src/lib/zod.ts), parsed here by core.
 */
import type { MiddlewareHandler, ValidationTargets } from "hono";
import { validator } from "hono/validator";
import { safeParseAsync, type $ZodType, type input, type output } from "zod/v4/core";
import type { AppEnv } from "../env";
import { describeIssue } from "../protocol";
import { ApiError } from "./errors";

/**
 * Where a validator keeps what it checks (`{ target, schema }`), so that the OpenAPI document
 * (src/openapi/document.ts) describes each route's input from the very schema that validates it.
 */
export const VALIDATES = Symbol("validates");

export function zValidator<Target extends keyof ValidationTargets, Schema extends $ZodType>(
  target: Target,
  schema: Schema,
): MiddlewareHandler<
  AppEnv,
  string,
  { in: { [K in Target]: input<Schema> }; out: { [K in Target]: output<Schema> } }
> {
  const middleware = validator(target, async (value: unknown) => {
    const result = await safeParseAsync(schema, value);
    if (!result.success) throw new ApiError("bad_request", describeIssue(result.error));
    return result.data as output<Schema>;
  });
  return Object.assign(middleware, { [VALIDATES]: { target, schema } }) as never;
}
