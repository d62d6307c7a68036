import { MAX_FRAME_BYTES } from "../protocol";

/** A socket frame's size in bytes, exact only where it matters: near MAX_FRAME_BYTES. */
export function frameBytes(data: string | ArrayBuffer): number {
  if (typeof data !== "string") return data.byteLength;
  // UTF-8 never takes fewer bytes than UTF-16 code units, nor more than three per unit.
  if (data.length > MAX_FRAME_BYTES) return data.length;
  if (data.length * 3 <= MAX_FRAME_BYTES) return data.length;
  return new TextEncoder().encode(data).byteLength;
}
