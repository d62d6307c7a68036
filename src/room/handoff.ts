/**
 * How the Worker hands a verified socket upgrade to a room: the Worker builds a fresh request
 * carrying only what it verified, so nothing a client sends can pose as an identity.
 */
import type { Identity } from "../protocol";

const USER = "x-chat-user";
const ROOM = "x-chat-room";
/** The upgrade's request id, for what the room logs about this socket (src/lib/log.ts). */
const REQUEST_ID = "x-request-id";
/** Which of the room's shards the room placed the socket on (src/shard/), when it did. */
const SHARD = "x-chat-shard";

export function upgradeRequest(original: Request, roomId: string, user: Identity, requestId?: string, shard?: number | null): Request {
  const headers = new Headers({ upgrade: "websocket", [USER]: JSON.stringify(user), [ROOM]: roomId });
  if (requestId) headers.set(REQUEST_ID, requestId);
  if (typeof shard === "number") headers.set(SHARD, String(shard));
  for (const name of ["sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol", "sec-websocket-extensions"]) {
    const value = original.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Request(original.url, { headers });
}

export interface Upgrade {
  roomId: string;
  user: Identity;
  requestId?: string;
  /** The shard the room placed this socket on; absent for the room's own sockets. */
  shard?: number;
}

export function readUpgrade(request: Request): Upgrade | null {
  const user = request.headers.get(USER);
  const roomId = request.headers.get(ROOM);
  if (user === null || roomId === null) return null;
  const requestId = request.headers.get(REQUEST_ID) ?? undefined;
  const shard = request.headers.get(SHARD);
  return {
    roomId,
    user: JSON.parse(user) as Identity,
    ...(requestId ? { requestId } : {}),
    ...(shard !== null && /^\d+$/.test(shard) ? { shard: Number(shard) } : {}),
  };
}
