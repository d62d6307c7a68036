/** Helpers for the administration tests: tokens with service roles, admin calls, polling. */
import type { ServiceRole } from "../src/protocol";
import { api, tokenFor } from "./helpers";

export const tokenWithRoles = (userId: string, roles: ServiceRole[], kind: "member" | "visitor" = "member") =>
  tokenFor(userId, userId, kind, roles);

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
