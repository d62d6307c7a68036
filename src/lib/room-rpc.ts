/** Calling a room from the Worker: its stub, and its result values turned into HTTP errors. */
import type { Bindings } from "../env";
import type { ErrorCode } from "../protocol";
import type { LimitResult } from "../limits";
import { rateLimitHeaders } from "../limits/http";
import type { Room } from "../room/Room";
import { ApiError } from "./errors";
import { log } from "./log";

/** The rooms' RPC methods the Worker calls; each call takes the request's log context along. */
const ROOM_RPC = [
  "access",
  "admit",
  "create",
  "addMember",
  "removeMember",
  "setRole",
  "postMessage",
  "updateRoom",
  "editMessage",
  "deleteMessage",
  "reactToMessage",
  "markRead",
  "getReaders",
  "getMessages",
  "getPresence",
  "getTopics",
] as const satisfies readonly (keyof Room)[];
export type RoomRpc = (typeof ROOM_RPC)[number];
const RPC_NAMES = new Set<string>(ROOM_RPC);

/**
 * The room's stub. Its RPC methods go through `Room.inContext` with the caller's log context
 * (request id), so what the room logs for a call names the request; anything else (`fetch`, a
 * method not listed) is the plain stub's.
 */
export const roomStub = (env: Bindings, roomId: string): DurableObjectStub<Room> => {
  const stub = env.ROOM.get(env.ROOM.idFromName(roomId));
  return new Proxy(stub, {
    get(target, name) {
      if (typeof name === "string" && RPC_NAMES.has(name)) {
        return (...args: unknown[]) => target.inContext(log.context(), name as RoomRpc, args as never);
      }
      const value: unknown = Reflect.get(target, name);
      return name === "fetch" ? (value as typeof target.fetch).bind(target) : value;
    },
  });
};

type Result<T> =
  | { ok: true; value: T }
  | { ok: false; code: ErrorCode; message: string; retryAfter?: number; limit?: LimitResult };

export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  const headers: Record<string, string> = result.limit ? rateLimitHeaders(result.limit) : {};
  if (result.retryAfter) headers["retry-after"] = String(result.retryAfter);
  throw new ApiError(result.code, result.message, headers);
}
