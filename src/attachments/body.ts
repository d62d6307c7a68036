/**
 * Reads an upload's body into memory, never more than the limit plus one chunk: a declared
 * Content-Length over the limit is refused before reading, and a body without one (chunked) is
 * counted as it arrives and cut off as soon as it passes the limit.
 */
import { ApiError } from "../lib/errors";
import * as z from "../lib/zod";

const contentLength = z.pipe(z.string().check(z.regex(/^\d{1,16}$/, "Content-Length must be a whole number")), z.transform(Number));

export async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    const parsed = contentLength.safeParse(declared);
    if (!parsed.success) throw new ApiError("bad_request", "Content-Length must be a whole number");
    if (parsed.data > limit) throw tooLarge(limit);
  }
  if (request.body === null) return new Uint8Array(0);

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      // Stops the client's upload instead of draining the rest of it.
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

const tooLarge = (limit: number) => new ApiError("too_large", `a file is at most ${limit} bytes`);
