/**
 * How a channel says a delivery failed, so the caller (a queue consumer) knows whether to try
 * again: `RetryableDelivery` for what may pass (5xx, 429, network, timeout), `PermanentDelivery`
 * for what will not (other 4xx, missing settings).
 */

export class RetryableDelivery extends Error {
  override name = "RetryableDelivery";
  constructor(
    message: string,
    /** Seconds the other side asked us to wait (`Retry-After`), when it said. */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

export class PermanentDelivery extends Error {
  override name = "PermanentDelivery";
}

/** How long one request to a provider or push service may take before it counts as failed. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** `fetch` whose network errors and timeouts are retryable failures. */
export async function deliveryFetch(what: string, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
  } catch (err) {
    const reason = err instanceof Error && err.name === "TimeoutError" ? `no answer within ${DELIVERY_TIMEOUT_MS} ms` : String(err);
    throw new RetryableDelivery(`${what}: ${reason}`);
  }
}

/** The failure an HTTP answer stands for: 5xx and 429 may pass, any other 4xx will not. */
export function failureFor(what: string, res: Response, detail = ""): RetryableDelivery | PermanentDelivery {
  const message = `${what} answered ${res.status}${detail ? `: ${detail.slice(0, 300)}` : ""}`;
  if (res.status >= 500 || res.status === 429) return new RetryableDelivery(message, retryAfterOf(res));
  return new PermanentDelivery(message);
}

function retryAfterOf(res: Response): number | undefined {
  const value = res.headers.get("retry-after");
  if (value === null) return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : undefined;
}
