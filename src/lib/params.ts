import { z } from "zod";

/** A positive whole number given as a query string. */
export const positiveInt = (max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d{1,16}$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(1).max(max));

/** A user id as tokens and the directory carry it. */
export const userId = z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, "user ids are 1-64 letters, digits or . _ @ -");
