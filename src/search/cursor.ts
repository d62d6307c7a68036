/**
 * The `before` cursor of search pages: opaque to clients (base64url of JSON), and anything we
 * did not make is refused with 400. It holds how many results came before the next page and
 * the index horizon of the first page (the highest message rowid then), so messages that
 * arrive while someone pages do not push earlier results onto later pages as duplicates.
 */
import * as z from "../lib/zod";

/** Deeper pages are not served: ranking every match again for each page gets dearer with depth. */
export const MAX_OFFSET = 1000;

export interface Cursor {
  offset: number;
  horizon: number;
}

const shape = z.tuple([
  z.number().check(z.int(), z.minimum(1), z.maximum(MAX_OFFSET)),
  z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
]);

export function encodeCursor(cursor: Cursor): string {
  return btoa(JSON.stringify([cursor.offset, cursor.horizon])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decode(raw: string): Cursor | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(raw) || raw.length % 4 === 1) return null;
  try {
    const parsed = shape.safeParse(JSON.parse(atob(raw.replace(/-/g, "+").replace(/_/g, "/"))));
    return parsed.success ? { offset: parsed.data[0], horizon: parsed.data[1] } : null;
  } catch {
    return null;
  }
}

/** A query-string cursor → Cursor, or a validation issue. */
export const cursorSchema = z.pipe(
  z.string(),
  z.transform((raw: string, ctx): Cursor => {
    const cursor = decode(raw);
    if (cursor === null) {
      ctx.issues.push({ code: "custom", message: "invalid cursor", input: raw });
      return z.NEVER;
    }
    return cursor;
  }),
);
