/**
 * Writing a message: the text, what it replies to, and files (uploaded as soon as they are
 * picked, dropped or pasted, with progress and a preview; the message carries their ids). Enter
 * sends, Shift+Enter starts a new line. Slow mode and the send limit show as a countdown.
 */
import { useSignal, useSignalEffect } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { AttachmentRef, Message } from "../../src/protocol";
import { app } from "../state/app";
import { reason } from "../state/toasts";
import { bytes } from "../ui/format";
import { Icon } from "../ui/icons";
import { isImage, rememberLocal } from "./files";
import type { LiveRoom } from "./live-room";

interface Upload {
  key: number;
  file: File;
  preview: string | null;
  progress: number;
  done: AttachmentRef | null;
  error: string | null;
  abort: AbortController;
}

let nextKey = 1;

export function Composer({ live, replyTo, clearReply }: { live: LiveRoom; replyTo: Message | null; clearReply(): void }) {
  const text = useSignal("");
  const uploads = useSignal<Upload[]>([]);
  const now = useSignal(Date.now());
  const input = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => input.current?.focus(), [replyTo]);
  // Ticks the countdown while there is one.
  useSignalEffect(() => {
    const c = live.cooldown.value;
    if (!c) return;
    const timer = setInterval(() => {
      now.value = Date.now();
      if (Date.now() >= c.until) {
        clearInterval(timer);
        if (live.cooldown.peek() === c) live.cooldown.value = null;
      }
    }, 250);
    return () => clearInterval(timer);
  });
  useEffect(() => () => uploads.peek().forEach((u) => u.preview && URL.revokeObjectURL(u.preview)), []);

  const cooldown = live.cooldown.value;
  const waitS = cooldown ? Math.max(0, Math.ceil((cooldown.until - now.value) / 1000)) : 0;
  const uploading = uploads.value.some((u) => !u.done && !u.error);
  const ready = uploads.value.filter((u) => u.done);
  const canSend = (text.value.trim().length > 0 || ready.length > 0) && !uploading && waitS === 0;

  function patch(key: number, p: Partial<Upload>) {
    uploads.value = uploads.value.map((u) => (u.key === key ? { ...u, ...p } : u));
  }

  function addFiles(files: FileList | File[]) {
    for (const file of Array.from(files)) {
      const u: Upload = { key: nextKey++, file, preview: isImage(file.type) ? URL.createObjectURL(file) : null, progress: 0, done: null, error: null, abort: new AbortController() };
      uploads.value = [...uploads.value, u];
      app()
        .client.upload(live.roomId, file, file.name, { onProgress: (p) => patch(u.key, { progress: p.total ? p.loaded / p.total : 0 }), signal: u.abort.signal })
        .then(
          (ref) => {
            rememberLocal(ref, file);
            patch(u.key, { done: ref, progress: 1 });
          },
          (err) => patch(u.key, { error: reason(err) }),
        );
    }
  }

  function remove(u: Upload) {
    u.abort.abort();
    if (u.preview) URL.revokeObjectURL(u.preview);
    uploads.value = uploads.value.filter((x) => x.key !== u.key);
  }

  function submit(e?: Event) {
    e?.preventDefault();
    if (!canSend) return;
    live.send(text.value.trim(), replyTo, ready.map((u) => u.done!));
    for (const u of ready) if (u.preview) URL.revokeObjectURL(u.preview);
    uploads.value = uploads.value.filter((u) => !u.done);
    text.value = "";
    clearReply();
    input.current?.focus();
  }

  return (
    <form
      class="composer"
      onSubmit={submit}
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        e.preventDefault();
        if (e.dataTransfer?.files.length) addFiles(e.dataTransfer.files);
      }}
    >
      {replyTo && (
        <div class="replying">
          <span>
            Replying to <b>{replyTo.author.name}</b>: {replyTo.text.slice(0, 80)}
          </span>
          <button type="button" class="icon" aria-label="Cancel reply" onClick={clearReply}>
            <Icon name="close" size={14} />
          </button>
        </div>
      )}
      {uploads.value.length > 0 && (
        <ul class="uploads" aria-label="Attachments">
          {uploads.value.map((u) => (
            <li key={u.key} class={u.error ? "failed" : u.done ? "done" : ""}>
              {u.preview ? <img src={u.preview} alt={`Preview of ${u.file.name}`} /> : <span class="fileicon"><Icon name="file" size={32} /></span>}
              <span class="name">
                {u.file.name} <small>{bytes(u.file.size)}</small>
              </span>
              {u.error ? (
                <span class="error" role="alert">
                  {u.error}
                </span>
              ) : (
                <progress max={1} value={u.progress} aria-label={`Uploading ${u.file.name}`} />
              )}
              <button type="button" class="icon" aria-label={`Remove ${u.file.name}`} onClick={() => remove(u)}>
                <Icon name="close" size={14} />
              </button>
            </li>
          ))}
        </ul>
      )}
      {cooldown && waitS > 0 && (
        <p class="cooldown" role="status">
          {cooldown.why === "slow" ? `Slow mode is on: you can send again in ${waitS} s.` : `You are sending too fast (${cooldown.why}). Waiting ${waitS} s; your message will go out then.`}
        </p>
      )}
      <div class="compose-row">
        <button type="button" class="icon attach" aria-label="Attach files" onClick={() => fileInput.current?.click()}>
          <Icon name="clip" size={20} />
        </button>
        <input
          ref={fileInput}
          type="file"
          multiple
          class="visually-hidden"
          aria-label="Choose files to attach"
          tabIndex={-1}
          onChange={(e) => {
            const files = e.currentTarget.files;
            if (files?.length) addFiles(files);
            e.currentTarget.value = "";
          }}
        />
        <textarea
          ref={input}
          rows={1}
          placeholder={`Message ${live.title.value}`}
          aria-label="Message"
          value={text.value}
          onInput={(e) => {
            text.value = e.currentTarget.value;
            live.room.typingIndicator.input(text.value);
          }}
          onBlur={() => live.room.typingIndicator.blur()}
          onPaste={(e) => {
            const files = e.clipboardData?.files;
            if (files?.length) {
              e.preventDefault();
              addFiles(files);
            }
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) submit(e);
            else if (e.key === "Escape" && replyTo) clearReply();
          }}
        />
        <button type="submit" class="primary" disabled={!canSend}>
          {waitS > 0 ? `Wait ${waitS} s` : uploading ? "Uploading…" : "Send"}
        </button>
      </div>
    </form>
  );
}
