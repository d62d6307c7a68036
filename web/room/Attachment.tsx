/** One attachment of a message: images inline (space reserved from their size), files as links. */
import { useEffect, useState } from "preact/hooks";
import type { AttachmentRef } from "../../src/protocol";
import { bytes } from "../ui/format";
import { Icon } from "../ui/icons";
import { reason, toast } from "../state/toasts";
import { fileUrl, isImage } from "./files";

const MAX_W = 320;
const MAX_H = 240;

export function Attachment({ a }: { a: AttachmentRef }) {
  if (isImage(a.mimeType)) return <ImageAttachment a={a} />;
  async function download() {
    try {
      const link = document.createElement("a");
      link.href = await fileUrl(a);
      link.download = a.name;
      link.click();
    } catch (err) {
      toast(`Could not download ${a.name}: ${reason(err)}`, "error");
    }
  }
  return (
    <button type="button" class="file" onClick={download}>
      <Icon name="file" /> {a.name} <small>{bytes(a.size)}</small>
    </button>
  );
}

function ImageAttachment({ a }: { a: AttachmentRef }) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    fileUrl(a).then(
      (url) => live && setSrc(url),
      () => live && setFailed(true),
    );
    return () => void (live = false);
  }, [a.id]);
  const scale = a.width && a.height ? Math.min(1, MAX_W / a.width, MAX_H / a.height) : 1;
  const size = a.width && a.height ? { width: `${Math.round(a.width * scale)}px`, height: `${Math.round(a.height * scale)}px` } : { width: `${MAX_W}px`, height: `${MAX_H}px` };
  if (failed) return <span class="file">Image {a.name} could not be loaded</span>;
  return (
    <span class="image" style={size}>
      {src ? <img src={src} alt={a.name} style={size} /> : <span class="placeholder">Loading {a.name}…</span>}
    </span>
  );
}
