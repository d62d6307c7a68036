/**
 * How the Worker hands a verified socket upgrade to a room: the Worker builds a fresh request
 * carrying only what it verified, so nothing a client sends can pose as an identity.
 */
import type { Identity } from "../protocol";

const USER = "x-chat-user";
const ROOM = "x-chat-room";
/** The upgrade's request id, for what the room logs about this socket (src/lib/log.ts). */
const REQUEST_ID = "x-request-id";

export function upgradeRequest(original: Request, roomId: string, user: Identity, requestId?: string): Request {
  const headers = new Headers({ upgrade: "websocket", [USER]: JSON.stringify(user), [ROOM]: roomId });
  if (requestId) headers.set(REQUEST_ID, requestId);
  for (const name of ["sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol", "sec-websocket-extensions"]) {
    const value = original.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Request(original.url, { headers });
}

export function readUpgrade(request: Request): { roomId: string; user: Identity; requestId?: string } | null {
  const user = request.headers.get(USER);
  const roomId = request.headers.get(ROOM);
  if (user === null || roomId === null) return null;
  const requestId = request.headers.get(REQUEST_ID) ?? undefined;
  return { roomId, user: JSON.parse(user) as Identity, ...(requestId ? { requestId } : {}) };
}
