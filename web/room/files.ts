/**
 * Attachment bytes as object URLs. Files need the token, so an <img src> cannot fetch them
 * itself (the client's `file()` does); each is fetched once per page and kept (a chat shows the same images again and again).
 * A file this tab just uploaded is shown from the local copy, without a round trip.
 */
import type { AttachmentRef } from "../../src/protocol";
import { app } from "../state/app";

const urls = new Map<string, Promise<string>>();

export function fileUrl(a: AttachmentRef): Promise<string> {
  let url = urls.get(a.id);
  if (!url) {
    url = app().client.file(a.url).then((blob) => URL.createObjectURL(blob));
    // A failure is not kept: the next render may try again.
    url.catch(() => urls.delete(a.id));
    urls.set(a.id, url);
  }
  return url;
}

export function rememberLocal(a: AttachmentRef, file: Blob): void {
  if (!urls.has(a.id)) urls.set(a.id, Promise.resolve(URL.createObjectURL(file)));
}

export const isImage = (mimeType: string) => /^image\/(png|jpeg|gif|webp)$/.test(mimeType);
