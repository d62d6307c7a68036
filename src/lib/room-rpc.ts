/** Calling a room from the Worker: its stub, and its result values turned into HTTP errors. */
import type { Bindings } from "../env";
import type { ErrorCode } from "../protocol";
import { ApiError } from "./errors";

export const roomStub = (env: Bindings, roomId: string) => env.ROOM.get(env.ROOM.idFromName(roomId));

type Result<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new ApiError(result.code, result.message);
}
