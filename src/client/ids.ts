/** A random id for a send; random rather than a counter so two tabs never collide. */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return "c-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The claims of a JWT, read without verifying it (the server does that), or null for anything
 * that is not a JWT with a JSON object as its payload.
 */
export function tokenClaims(token: string): Record<string, unknown> | null {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims === "object" && claims !== null && !Array.isArray(claims) ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The user a JWT names (`sub`), or null. Used only to file the outbox under the user. */
export function userIdOfToken(token: string): string | null {
  const sub = tokenClaims(token)?.sub;
  return typeof sub === "string" ? sub : null;
}
