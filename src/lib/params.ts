import { z } from "zod";
import { USER_ID_PATTERN } from "../protocol";

/** A positive whole number given as a query string. */
export const positiveInt = (max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d{1,16}$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(1).max(max));

/** A user id as tokens and the directory carry it (the contract's rule, as for room ids). */
export const userId = z.string().regex(USER_ID_PATTERN, "user ids are 1-64 letters, digits, '-' or '_'");
