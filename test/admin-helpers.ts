/**
 * Tokens with service roles, for the administration tests. Signed with jose directly (HS256, the
 * dev secret), so they do not depend on how src/lib/jwt.ts signs: the identity work owns that.
 */
import { SignJWT } from "jose";
import { DEV_JWT_SECRET } from "../src/middleware/auth";
import { api } from "./helpers";

export async function tokenWithRoles(userId: string, roles: string[], kind: "member" | "visitor" = "member") {
  return new SignJWT({ name: userId, kind, roles })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(DEV_JWT_SECRET));
}

/** A REST call as a user with the `admin` role. */
export async function asAdmin(method: string, path: string, json?: unknown, userId = "ops-admin") {
  return api(path, { method, token: await tokenWithRoles(userId, ["admin"]), json });
}

/** Polls until `check` returns something truthy (or throws after `timeoutMs`). */
export async function eventually<T>(check: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
