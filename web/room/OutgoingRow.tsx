/** A send of mine with no message yet: sending, waiting for the connection, or refused. */
import { app } from "../state/app";
import { online } from "../state/net";
import { Avatar } from "../ui/format";
import { Attachment } from "./Attachment";
import type { LiveRoom, Outgoing } from "./live-room";

export function OutgoingRow({ o, live }: { o: Outgoing; live: LiveRoom }) {
  const me = app().me;
  const waiting = o.state === "queued" || (o.state === "sending" && (!online.value || live.state.value !== "open"));
  const label =
    o.state === "failed" ? "Not sent" : o.state === "queued" && o.error ? "Waiting to retry…" : waiting ? "Waiting for connection…" : o.state === "sent" ? "Sent" : "Sending…";
  return (
    <article class={`msg own pending ${o.state === "failed" ? "failed" : ""}`} data-client-id={o.clientId} tabIndex={0} aria-label={`${me.name}, ${label}`}>
      <Avatar user={me} />
      <div class="body">
        <header>
          <span class="author">{me.name}</span>
          <span class="state">{label}</span>
        </header>
        {o.replyTo && (
          <div class="quote">
            <b>{o.replyTo.author.name}</b> {o.replyTo.excerpt}
          </div>
        )}
        {o.text && <p class="text">{o.text}</p>}
        {o.attachments.length > 0 && (
          <div class="attachments">
            {o.attachments.map((a) => (
              <Attachment key={a.id} a={a} />
            ))}
          </div>
        )}
        {o.state === "failed" && (
          <p class="failure" role="alert">
            Not sent: {o.error}.{" "}
            <button type="button" class="link" onClick={() => live.retry(o.clientId)}>
              Retry
            </button>{" "}
            ·{" "}
            <button type="button" class="link" onClick={() => live.discard(o.clientId)}>
              Discard
            </button>
          </p>
        )}
      </div>
    </article>
  );
}
