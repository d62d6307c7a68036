/**
 * Each user's choice of notification channels (`GET|PUT /api/notifications/preferences`). A
 * user without a row has the defaults; a PUT writes only the fields it names, in one statement,
 * so two devices changing different fields at once both win.
 */
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import * as z from "../lib/zod";
import { EMAIL_MODES, notificationPreferences, type EmailMode } from "../db/schema";
import { isRoomId } from "../protocol";

export interface Preferences {
  inApp: boolean;
  email: EmailMode;
  push: boolean;
  mutedRooms: string[];
}

export const DEFAULT_PREFERENCES: Readonly<Preferences> = Object.freeze({ inApp: true, email: "instant", push: true, mutedRooms: [] });

export const MAX_MUTED_ROOMS = 500;

/** A PUT body: the whole object or any part of it; nothing else. */
export const preferencesInput = z.strictObject({
  inApp: z.optional(z.boolean()),
  email: z.optional(z.enum(EMAIL_MODES)),
  push: z.optional(z.boolean()),
  mutedRooms: z.optional(
    z
      .array(z.string().check(z.refine(isRoomId, "room ids are 1-64 letters, digits, '-' or '_'")))
      .check(z.maxLength(MAX_MUTED_ROOMS, `at most ${MAX_MUTED_ROOMS} muted rooms`)),
  ),
});
export type PreferencesInput = z.infer<typeof preferencesInput>;

type Row = typeof notificationPreferences.$inferSelect;

const fromRow = (row: Row): Preferences => ({ inApp: row.inApp, email: row.email, push: row.push, mutedRooms: row.mutedRooms });

const defaults = (): Preferences => ({ ...DEFAULT_PREFERENCES, mutedRooms: [] });

export async function getPreferences(db: D1Database, userId: string): Promise<Preferences> {
  const row = await drizzle(db).select().from(notificationPreferences).where(eq(notificationPreferences.userId, userId)).get();
  return row ? fromRow(row) : defaults();
}

/**
 * Ids travel as one JSON parameter per statement (D1 binds at most 100 values), in chunks far
 * below D1's statement size, all in one batch: one round trip for any number of users.
 */
const IDS_PER_STATEMENT = 1000;

/** Everyone's preferences (defaults for those without a row), keyed by user id. */
export async function getPreferencesFor(db: D1Database, userIds: string[]): Promise<Map<string, Preferences>> {
  const ids = [...new Set(userIds)];
  const result = new Map<string, Preferences>(ids.map((id) => [id, defaults()]));
  if (ids.length === 0) return result;
  const orm = drizzle(db);
  const statements = [];
  for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
    const chunk = JSON.stringify(ids.slice(i, i + IDS_PER_STATEMENT));
    statements.push(
      orm
        .select()
        .from(notificationPreferences)
        .where(sql`${notificationPreferences.userId} IN (SELECT value FROM json_each(${chunk}))`),
    );
  }
  const [first, ...rest] = statements;
  const pages = await orm.batch([first!, ...rest]);
  for (const rows of pages) for (const row of rows) result.set(row.userId, fromRow(row));
  return result;
}

/** Writes the fields given (the rest keep their stored or default values) and returns the result. */
export async function updatePreferences(db: D1Database, userId: string, input: PreferencesInput): Promise<Preferences> {
  const change: Partial<Row> = {};
  if (input.inApp !== undefined) change.inApp = input.inApp;
  if (input.email !== undefined) change.email = input.email;
  if (input.push !== undefined) change.push = input.push;
  if (input.mutedRooms !== undefined) change.mutedRooms = [...new Set(input.mutedRooms)];
  const updatedAt = new Date().toISOString();
  const [row] = await drizzle(db)
    .insert(notificationPreferences)
    .values({ userId, ...defaults(), ...change, updatedAt })
    .onConflictDoUpdate({ target: notificationPreferences.userId, set: { ...change, updatedAt } })
    .returning();
  return fromRow(row!);
}

/** Sets the email channel alone (the one-click unsubscribe turns it off). */
export async function setEmail(db: D1Database, userId: string, value: EmailMode): Promise<Preferences> {
  return updatePreferences(db, userId, { email: value });
}
