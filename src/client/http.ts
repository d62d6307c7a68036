/** One REST call and the contract's error shape, shared by every request the client makes. */
import { codeForStatus, type ErrorBody } from "../protocol";
import { ChatError } from "./errors";

export type Query = Record<string, string | number | boolean | undefined>;

/** A JSON answer (undefined for an empty one, such as a 204). */
export async function request<T>(url: string, init: RequestInit): Promise<T> {
  const text = await (await fetchOk(url, init)).text().catch(() => "");
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The response to a request that succeeded; a ChatError for no answer or a refusal. */
export async function fetchOk(url: string, init: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new ChatError("network", err instanceof Error ? err.message : String(err));
  }
  if (res.ok) return res;
  throw errorFromResponse(res.status, await res.text().catch(() => ""), res.headers.get("Retry-After"));
}

/** The ChatError for a failed response: its body's code and message, else one from the status. */
export function errorFromResponse(status: number, body: string, retryAfterHeader: string | null): ChatError {
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(body);
  } catch {
    // not JSON: a proxy's or the platform's page
  }
  const error = isErrorBody(parsed) ? parsed.error : null;
  const retryAfter = Number(retryAfterHeader) || undefined;
  return new ChatError(error?.code ?? codeForStatus(status), error?.message ?? `HTTP ${status}`, status, retryAfter);
}

function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== "object" || body === null || !("error" in body)) return false;
  const { error } = body;
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string";
}

export const jsonInit = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

export function urlOf(baseUrl: string, path: string, query: Query = {}): string {
  const url = new URL(path, baseUrl);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url.href;
}

/** A path segment from an id or an emoji. */
export const seg = encodeURIComponent;
