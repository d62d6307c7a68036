/**
 * Checks an upload's bytes against the type it was declared as. The declared Content-Type is
 * what the file will be served as, so it has to be true: a member could otherwise upload an
 * HTML page or an executable labelled as an image. file-type reads the magic bytes (it runs in
 * workerd: no Node APIs on this path); image-size reads an image's dimensions from its header,
 * so clients can lay a message out before the image loads.
 */
import { imageSize } from "image-size";
import { ApiError } from "../lib/errors";
import { ALLOWED_TYPES, allowedType, type AllowedType } from "./policy";

export interface Inspected {
  mimeType: AllowedType;
  width?: number;
  height?: number;
}

/** The allowed type a Content-Type names; checked before the body is read, as it costs nothing. */
export function declaredType(contentType: string | undefined): AllowedType {
  if (!contentType) throw new ApiError("unsupported_type", "declare the file's type in Content-Type");
  const type = allowedType(contentType);
  if (type === null) throw new ApiError("unsupported_type", `files of type ${contentType.split(";")[0]} are not allowed`);
  return type;
}

/** The bytes' type (which must be `type`) and, for images, their size in pixels. */
export async function inspectUpload(bytes: Uint8Array, type: AllowedType): Promise<Inspected> {
  const { sniff } = await import("./sniff");
  const sniffed = await sniff(bytes);
  if (type === "text/plain") {
    if (sniffed) throw mismatch(type, sniffed.mime);
    if (!isText(bytes)) throw new ApiError("unsupported_type", "text/plain files must be UTF-8 text without NUL bytes");
    return { mimeType: type };
  }
  if (!sniffed) throw new ApiError("unsupported_type", `the file's bytes are not ${type}`);
  if (allowedType(sniffed.mime) !== type) throw mismatch(type, sniffed.mime);

  if (ALLOWED_TYPES[type] !== "image") return { mimeType: type };
  return { mimeType: type, ...dimensions(bytes, type) };
}

function mismatch(declared: string, sniffed: string): ApiError {
  return new ApiError("unsupported_type", `declared as ${declared}, but the bytes are ${sniffed.split(";")[0]}`);
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Text has no signature; valid UTF-8 without NULs is what tells it from a binary file. */
function isText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Width and height as the image is displayed: EXIF orientations 5-8 turn a JPEG a quarter
 * turn, so the stored width is its displayed height. A header image-size cannot read means the
 * file is broken, and it is refused like any other file that is not what it says.
 */
function dimensions(bytes: Uint8Array, type: AllowedType): { width: number; height: number } {
  // image-size reads through DataViews over the whole ArrayBuffer, so given a view into a larger
  // buffer (a request body's chunk can be one) it would read past the file's end.
  const exact = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  let size: { width?: number; height?: number; orientation?: number };
  try {
    size = imageSize(exact);
  } catch {
    size = {};
  }
  const { width, height, orientation } = size;
  if (!isPixels(width) || !isPixels(height)) throw new ApiError("unsupported_type", `the ${type} image could not be read`);
  return orientation !== undefined && orientation >= 5 ? { width: height, height: width } : { width, height };
}

const isPixels = (n: number | undefined): n is number => Number.isSafeInteger(n) && n! > 0;
