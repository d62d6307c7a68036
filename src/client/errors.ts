import type { ErrorCode } from "../protocol";

/** Codes from the contract, plus `network` (no answer at all) and `closed` (the connection was closed by the app). */
export type ClientErrorCode = ErrorCode | "network" | "closed";

/** Every failure the client reports: a refused request or frame in the contract's terms. */
export class ChatError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** The HTTP status, for REST calls. */
    readonly status?: number,
    /** Seconds to wait before trying again, for `rate_limited` (from `Retry-After` or the frame). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "ChatError";
  }
}

/** A refusal for sending too fast: `retryAfter` says how many seconds until it would be taken. */
export type RateLimitedError = ChatError & { code: "rate_limited"; retryAfter: number };

export function isRateLimited(err: unknown): err is RateLimitedError {
  return err instanceof ChatError && err.code === "rate_limited" && typeof err.retryAfter === "number";
}
