/** Users in D1: kept up to date from verified token claims, and looked up by id. */
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Identity } from "../protocol";
import { members, users } from "./schema";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/** Claims already written by this isolate, so a busy user costs one D1 write, not one per request. */
const seen = new Set<string>();

/** Upserts the user, and makes every member part of the community room. */
export async function ensureUser(d1: D1Database, user: Identity, email?: string): Promise<void> {
  const key = `${user.id}\u0000${user.name}\u0000${user.kind}\u0000${email ?? ""}`;
  if (seen.has(key)) return;
  const db = drizzle(d1);
  // A token without an address keeps the one an earlier token gave.
  const upsert = db
    .insert(users)
    .values({ id: user.id, name: user.name, kind: user.kind, email: email ?? null })
    .onConflictDoUpdate({
      target: users.id,
      set: { name: user.name, kind: user.kind, updatedAt: now, ...(email ? { email } : {}) },
    });
  if (user.kind === "member") {
    await db.batch([
      upsert,
      db
        .insert(members)
        .values({ roomId: "community", userId: user.id, role: "member", joinedAt: new Date().toISOString() })
        .onConflictDoNothing(),
    ]);
  } else {
    await upsert;
  }
  seen.add(key);
}

export async function findUsers(d1: D1Database, ids: string[]): Promise<Map<string, Identity>> {
  if (ids.length === 0) return new Map();
  // One JSON parameter, not one per id: D1 binds at most 100 values, and a group may start with 500 members.
  const rows = await drizzle(d1)
    .select({ id: users.id, name: users.name, kind: users.kind })
    .from(users)
    .where(sql`${users.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`);
  return new Map(rows.map((r) => [r.id, r]));
}

/** The member directory: members (never visitors) whose id or name starts with `q`. */
export async function searchUsers(d1: D1Database, q: string, limit: number): Promise<Identity[]> {
  const pattern = `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return drizzle(d1)
    .select({ id: users.id, name: users.name, kind: users.kind })
    .from(users)
    .where(
      sql`${users.kind} = 'member' AND (${users.id} LIKE ${pattern} ESCAPE '\\' OR ${users.name} LIKE ${pattern} ESCAPE '\\')`,
    )
    .orderBy(users.name)
    .limit(limit);
}
