import { HTTPException } from "hono/http-exception";
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from "../protocol";

/** An expected failure with the contract's error code; `app.onError` renders it. */
export class ApiError extends HTTPException {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(ERROR_STATUS[code] as 400, { message });
  }
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

export function errorResponse(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
  return Response.json(errorBody(code, message), { status: ERROR_STATUS[code], headers });
}
