import { USER_ID_PATTERN } from "../protocol";
import * as z from "./zod";

/** A positive whole number given as a query string. */
export const positiveInt = (max = Number.MAX_SAFE_INTEGER) =>
  z.pipe(
    z.pipe(z.string().check(z.regex(/^\d{1,16}$/, "must be a whole number")), z.transform(Number)),
    z.number().check(z.int(), z.minimum(1), z.maximum(max)),
  );

/** A user id as tokens and the directory carry it (the contract's rule, as for room ids). */
export const userId = z.string().check(z.regex(USER_ID_PATTERN, "user ids are 1-64 letters, digits, '-' or '_'"));
