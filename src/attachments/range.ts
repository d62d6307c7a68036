/**
 * The single byte range of a `Range` header (RFC 9110 §14), resolved against the file's size.
 * Only one range is served: a list of ranges, another unit or a header that does not parse is
 * ignored and the whole file sent, as the RFC allows. Video and audio players seek with these.
 */
export type ByteRange =
  | { kind: "all" }
  | { kind: "part"; offset: number; length: number }
  | { kind: "unsatisfiable" };

const SINGLE = /^bytes=\s*(?:(\d{1,16})-(\d{0,16})|-(\d{1,16}))\s*$/i;

export function resolveRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return { kind: "all" };
  const match = SINGLE.exec(header);
  if (!match) return { kind: "all" };
  const [, first, last, suffix] = match;
  if (suffix !== undefined) {
    // `-n`: the last n bytes; an empty file or n = 0 has no such bytes.
    const n = Math.min(Number(suffix), size);
    return n === 0 ? { kind: "unsatisfiable" } : { kind: "part", offset: size - n, length: n };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return { kind: "all" }; // invalid, so ignored
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "part", offset: start, length: end - start + 1 };
}
