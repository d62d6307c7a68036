/** Placeholder until the preferences store lands: every user has the defaults. */
export interface Preferences {
  inApp: boolean;
  email: "off" | "instant" | "daily";
  push: boolean;
  mutedRooms: string[];
}

export const DEFAULT_PREFERENCES: Preferences = { inApp: true, email: "instant", push: true, mutedRooms: [] };

export async function getPreferencesFor(_db: D1Database, userIds: string[]): Promise<Map<string, Preferences>> {
  return new Map(userIds.map((id) => [id, DEFAULT_PREFERENCES]));
}
