/** File names: what an upload may be called, and how that name goes back out in a header. */
import * as z from "../lib/zod";

export const MAX_NAME_LENGTH = 200;

// C0 and C1 controls, and the bidi overrides and isolates: "invoice\u202Efdp.exe" displays as
// "invoiceexe.pdf", the classic trick for dressing one file type up as another.
const FORBIDDEN = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;

/**
 * 1..200 characters once trimmed, well-formed, no controls, and no path separators: the name is
 * shown to others and becomes a download's file name, where a separator could point elsewhere.
 */
export const fileName = z.string().check(
  z.trim(),
  z.minLength(1, "name must not be empty"),
  z.maxLength(MAX_NAME_LENGTH, `name is at most ${MAX_NAME_LENGTH} characters`),
  z.refine((s) => s.isWellFormed(), "name is not valid Unicode"),
  z.refine((s) => !FORBIDDEN.test(s), "name contains control characters"),
  z.refine((s) => !/[/\\]/.test(s), "name must not contain / or \\"),
  z.refine((s) => s !== "." && s !== "..", "name must not be . or .."),
);

/**
 * A Content-Disposition value. `filename` is an ASCII stand-in for old clients (anything else
 * becomes `_`, so no quote or backslash can end the quoted string early); `filename*` carries
 * the real name, percent-encoded as RFC 8187 asks.
 */
export function contentDisposition(kind: "inline" | "attachment", name: string): string {
  const ascii = name.replace(/[^\x20-\x7E]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
