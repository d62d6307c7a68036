/** Calling a room from the Worker: its stub, and its result values turned into HTTP errors. */
import type { Bindings } from "../env";
import type { ErrorCode } from "../protocol";
import type { LimitResult } from "../limits";
import { rateLimitHeaders } from "../limits/http";
import { ApiError } from "./errors";

export const roomStub = (env: Bindings, roomId: string) => env.ROOM.get(env.ROOM.idFromName(roomId));

type Result<T> =
  | { ok: true; value: T }
  | { ok: false; code: ErrorCode; message: string; retryAfter?: number; limit?: LimitResult };

export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  const headers: Record<string, string> = result.limit ? rateLimitHeaders(result.limit) : {};
  if (result.retryAfter) headers["retry-after"] = String(result.retryAfter);
  throw new ApiError(result.code, result.message, headers);
}
