/**
 * Which browser origins may use the API and open sockets: one reading of `ALLOWED_ORIGINS` for
 * the socket's Origin check (src/middleware/origin.ts) and for CORS (src/middleware/cors.ts).
 *
 * `ALLOWED_ORIGINS` is a comma-separated list of origins (`https://shop.example`; a trailing
 * slash or upper case is forgiven), or `*` for any. Dev mode adds every localhost origin. The
 * Worker's own origin is not in here: it is always allowed and never needs CORS.
 */
import type { Config } from "../config";

const LOCALHOST = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

export interface OriginPolicy {
  /** `*` is configured: any origin. */
  any: boolean;
  allows(origin: string): boolean;
}

function normalize(entry: string): string {
  if (entry === "*") return entry;
  try {
    return new URL(entry).origin;
  } catch {
    return entry; // never equal to a browser's Origin: allows nothing
  }
}

export function originPolicy(config: Pick<Config, "allowedOrigins" | "devMode">): OriginPolicy {
  const listed = new Set(config.allowedOrigins.map(normalize));
  const any = listed.has("*");
  return {
    any,
    allows: (origin) => any || listed.has(origin) || (config.devMode && LOCALHOST.test(origin)),
  };
}
