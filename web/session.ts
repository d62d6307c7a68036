/**
 * The signed-in user of this tab. Kept in sessionStorage, which is per tab: a second tab signs
 * in on its own (as someone else, if you like), while a reload keeps the tab signed in.
 *
 * Where dev sign-in is off, the site that embeds or links the chat hands over a token it got
 * from its own sign-in: `https://chat.example/#token=<JWT>` (optionally `&room=<roomId>`). A
 * fragment never reaches a server or a log; the app takes it and removes it from the address
 * at once.
 */
import { tokenClaims, type Session } from "../src/client";
import { isRoomId, isServiceRole, type ServiceRole } from "../src/protocol";

const KEY = "edge-chat.session";
/** Why the last session ended, shown once on the sign-in screen after the reload. */
const NOTICE_KEY = "edge-chat.notice";

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const parsed: unknown = JSON.parse(raw);
    return isSession(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(notice?: string): void {
  sessionStorage.removeItem(KEY);
  if (notice) sessionStorage.setItem(NOTICE_KEY, notice);
}

/** The notice the last sign-out left, once. */
export function takeNotice(): string | undefined {
  const notice = sessionStorage.getItem(NOTICE_KEY) ?? undefined;
  sessionStorage.removeItem(NOTICE_KEY);
  return notice;
}

/**
 * A token handed over in the address (`#token=…&room=…`): undefined when there is none, null
 * when it is not a token. The fragment is replaced by the room (or removed). The server verifies
 * the token; here its claims only name the user.
 */
export function takeHandedOverSession(): Session | null | undefined {
  if (!location.hash.startsWith("#token=")) return undefined;
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token") ?? "";
  const room = params.get("room");
  history.replaceState(null, "", `${location.pathname}${location.search}${room && isRoomId(room) ? `#${room}` : ""}`);
  return sessionFromToken(token);
}

/** The user a JWT names (`sub`, `name`, `kind`, `roles`), without verifying it: the server does that. */
export function sessionFromToken(token: string): Session | null {
  const { sub, name, kind, roles } = tokenClaims(token) ?? {};
  if (typeof sub !== "string" || typeof name !== "string" || (kind !== "member" && kind !== "visitor")) return null;
  const known: ServiceRole[] = Array.isArray(roles) ? roles.filter(isServiceRole) : [];
  return { token, user: { id: sub, name, kind, roles: known } };
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
