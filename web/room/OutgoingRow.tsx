/** A send of mine the server has not stored yet: sending, waiting for the connection, or refused. */
import type { PendingMessage } from "../../src/client";
import { app } from "../state/app";
import { online } from "../state/net";
import { Avatar } from "../ui/format";
import { Attachment } from "./Attachment";
import type { LiveRoom } from "./live-room";

export function OutgoingRow({ p, live }: { p: PendingMessage; live: LiveRoom }) {
  const me = app().me;
  const { replyTo, attachments } = live.viewOf(p);
  // Too fast: the room sends it again by itself once the time named has passed.
  const waitingToRetry = p.error?.code === "rate_limited";
  const failed = !!p.error && !waitingToRetry;
  const label = failed
    ? "Not sent"
    : waitingToRetry
      ? "Waiting to retry…"
      : !online.value || live.state.value !== "open"
        ? "Waiting for connection…"
        : live.isAcknowledged(p.clientId)
          ? "Sent"
          : "Sending…";
  const files = p.attachments?.length ?? 0;
  return (
    <article class={`msg own pending ${failed ? "failed" : ""}`} data-client-id={p.clientId} tabIndex={0} aria-label={`${me.name}, ${label}`}>
      <Avatar user={me} />
      <div class="body">
        <header>
          <span class="author">{me.name}</span>
          <span class="state">{label}</span>
        </header>
        {replyTo && (
          <div class="quote">
            <b>{replyTo.author.name}</b> {replyTo.excerpt}
          </div>
        )}
        {p.text && <p class="text">{p.text}</p>}
        {files > 0 && (
          <div class="attachments">
            {attachments ? attachments.map((a) => <Attachment key={a.id} a={a} />) : <span class="file">{files === 1 ? "1 file" : `${files} files`}</span>}
          </div>
        )}
        {failed && (
          <p class="failure" role="alert">
            Not sent: {p.error!.message}.{" "}
            <button type="button" class="link" onClick={() => live.retry(p.clientId)}>
              Retry
            </button>{" "}
            ·{" "}
            <button type="button" class="link" onClick={() => live.discard(p.clientId)}>
              Discard
            </button>
          </p>
        )}
      </div>
    </article>
  );
}
