/**
 * file-type behind a module of its own, which src/attachments/upload.ts imports on the first
 * upload rather than at startup: file-type's zip reader brings `debug`, which sets up Node's
 * `process` (its streams included) when it loads, in every cold isolate. A module of ours
 * rather than file-type itself, so the bundle keeps only the export used.
 */
export { fileTypeFromBuffer as sniff } from "file-type";
