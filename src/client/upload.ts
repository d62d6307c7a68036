/**
 * A POST of a file with upload progress. Browsers report the progress of a request body only
 * through XMLHttpRequest (fetch has no upload events), so it is used wherever it exists; in
 * Node and workers fetch sends the body, and the progress is reported once, when it is done.
 */
import { ChatError } from "./errors";
import { errorFromResponse } from "./http";
import type { UploadProgress } from "./types";

export interface UploadRequest {
  url: string;
  headers: Record<string, string>;
  body: Blob;
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

/** What the client needs of XMLHttpRequest; declared here so the client builds without the DOM types. */
interface Xhr {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: Blob): void;
  abort(): void;
  getResponseHeader(name: string): string | null;
  readonly status: number;
  readonly responseText: string;
  readonly upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}

export function postFile<T>(req: UploadRequest): Promise<T> {
  const Xhr = (globalThis as { XMLHttpRequest?: new () => Xhr }).XMLHttpRequest;
  return Xhr ? viaXhr(new Xhr(), req) : viaFetch(req);
}

function viaXhr<T>(xhr: Xhr, req: UploadRequest): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (req.signal?.aborted) return reject(aborted());
    const total = req.body.size;
    xhr.open("POST", req.url);
    for (const [name, value] of Object.entries(req.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => req.onProgress?.({ loaded: e.loaded, total: e.lengthComputable ? e.total : total });
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        req.onProgress?.({ loaded: total, total });
        resolve(JSON.parse(xhr.responseText) as T);
      } else {
        reject(errorFromResponse(xhr.status, xhr.responseText, xhr.getResponseHeader("Retry-After")));
      }
    };
    xhr.onerror = () => reject(new ChatError("network", "upload failed: no answer"));
    xhr.onabort = () => reject(aborted());
    req.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    req.onProgress?.({ loaded: 0, total });
    xhr.send(req.body);
  });
}

async function viaFetch<T>(req: UploadRequest): Promise<T> {
  const total = req.body.size;
  req.onProgress?.({ loaded: 0, total });
  let res: Response;
  try {
    res = await fetch(req.url, { method: "POST", headers: req.headers, body: req.body, signal: req.signal });
  } catch (err) {
    if (req.signal?.aborted) throw aborted();
    throw new ChatError("network", err instanceof Error ? err.message : String(err));
  }
  const text = await res.text();
  if (!res.ok) throw errorFromResponse(res.status, text, res.headers.get("Retry-After"));
  req.onProgress?.({ loaded: total, total });
  return JSON.parse(text) as T;
}

const aborted = () => new ChatError("closed", "upload aborted");
