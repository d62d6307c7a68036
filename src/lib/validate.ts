/**
 * Request validation with zod that fails in the contract's error shape. Bodies that are not
 * JSON, and JSON that does not fit the schema, both become 400 bad_request.
 */
import type { MiddlewareHandler, ValidationTargets } from "hono";
import { validator } from "hono/validator";
import type { z } from "zod";
import type { AppEnv } from "../env";
import { describeIssue } from "../protocol";
import { ApiError } from "./errors";

export function zValidator<Target extends keyof ValidationTargets, Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
): MiddlewareHandler<
  AppEnv,
  string,
  { in: { [K in Target]: z.input<Schema> }; out: { [K in Target]: z.output<Schema> } }
> {
  return validator(target, async (value: unknown) => {
    const result = await schema.safeParseAsync(value);
    if (!result.success) throw new ApiError("bad_request", describeIssue(result.error));
    return result.data as z.output<Schema>;
  }) as never;
}
