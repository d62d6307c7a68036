/**
 * What may be uploaded, and how big. The declared Content-Type is only a claim: the bytes are
 * sniffed (upload.ts) and must be this same type. The list is short on purpose: every entry is
 * a type browsers display or play without running anything, so serving one back to another
 * member cannot run script in their session.
 */

/** 10 MiB; exactly this many bytes is allowed, one more is 413. */
export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;

/** Uploads no message has claimed after this long are removed by the hourly cron. */
export const UNCLAIMED_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * The allowed types. `image` ones are shown inline and get their width and height measured;
 * everything else is served as a download.
 */
export const ALLOWED_TYPES = {
  "image/png": "image",
  "image/jpeg": "image",
  "image/gif": "image",
  "image/webp": "image",
  "application/pdf": "file",
  // Has no magic bytes: checked as UTF-8 without NULs instead (upload.ts).
  "text/plain": "file",
  "application/zip": "file",
  "video/mp4": "file",
  "video/webm": "file",
  "audio/mpeg": "file",
  "audio/ogg": "file",
  "audio/wav": "file",
} as const satisfies Record<string, "image" | "file">;

export type AllowedType = keyof typeof ALLOWED_TYPES;

/**
 * Other names for allowed types. Browsers and OSes disagree on some (Windows sends zips as
 * `application/x-zip-compressed`), and file-type names animated PNGs `image/apng`: an APNG is a
 * valid PNG that older viewers show as a still.
 */
const ALIASES: Record<string, AllowedType> = {
  "image/jpg": "image/jpeg",
  "image/pjpeg": "image/jpeg",
  "image/apng": "image/png",
  "application/x-zip-compressed": "application/zip",
  "audio/mp3": "audio/mpeg",
  "audio/x-wav": "audio/wav",
  "audio/wave": "audio/wav",
  "audio/vnd.wave": "audio/wav",
};

/**
 * The allowed type a MIME type names, or null. Parameters are dropped (`text/plain;
 * charset=utf-8`, file-type's `audio/ogg; codecs=opus`); case does not matter.
 */
export function allowedType(mime: string | undefined): AllowedType | null {
  if (!mime) return null;
  const essence = mime.split(";")[0]!.trim().toLowerCase();
  if (Object.hasOwn(ALLOWED_TYPES, essence)) return essence as AllowedType;
  return ALIASES[essence] ?? null;
}

export function isImage(mime: string): boolean {
  const type = allowedType(mime);
  return type !== null && ALLOWED_TYPES[type] === "image";
}
