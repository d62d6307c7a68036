/** The signed-in user, kept in localStorage so a reload stays signed in. */
import type { Session } from "../src/client";

const KEY = "edge-chat.session";

export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const parsed: unknown = JSON.parse(raw);
    return isSession(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  localStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  localStorage.removeItem(KEY);
}

function isSession(v: unknown): v is Session {
  if (typeof v !== "object" || v === null || !("token" in v) || !("user" in v)) return false;
  const { token, user } = v;
  return (
    typeof token === "string" &&
    typeof user === "object" &&
    user !== null &&
    "id" in user &&
    typeof user.id === "string" &&
    "name" in user &&
    typeof user.name === "string"
  );
}

/** A user id from a display name: "Ada Lovelace" → "ada-lovelace". */
export function userIdFromName(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return slug || `user-${Math.random().toString(36).slice(2, 8)}`;
}
