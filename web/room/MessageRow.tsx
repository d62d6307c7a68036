/**
 * One message: author, time, quote, text, attachments, reactions and receipts, with its actions
 * (react, reply, edit, delete, seen by) shown on hover and on keyboard focus. The row itself is
 * a tab stop; Arrow Up/Down move between messages, and Tab reaches the actions.
 */
import { useSignal } from "@preact/signals";
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import type { Message } from "../../src/protocol";
import { app } from "../state/app";
import { reason, toast } from "../state/toasts";
import { Avatar, clockTime, dayLabel } from "../ui/format";
import { Icon } from "../ui/icons";
import { mentions, RichText } from "../ui/text";
import { Attachment } from "./Attachment";
import type { LiveRoom } from "./live-room";

export const QUICK_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢"];
/** Messages by one author this close together share one header. */
const GROUP_MS = 5 * 60_000;

interface Props {
  m: Message;
  prev: Message | undefined;
  live: LiveRoom;
  /** The newest message of mine: it says who has seen it. */
  lastOwn: boolean;
  onReply(m: Message): void;
  onJump(id: string): void;
}

export function MessageRow({ m, prev, live, lastOwn, onReply, onJump }: Props) {
  const me = app().me;
  const own = m.author.id === me.id;
  const deleted = !!m.deletedAt;
  const mode = useSignal<"idle" | "react" | "edit" | "confirm" | "seen">("idle");
  const newDay = !prev || new Date(prev.createdAt).toDateString() !== new Date(m.createdAt).toDateString();
  const cont = !newDay && !!prev && prev.author.id === m.author.id && !prev.deletedAt && Date.parse(m.createdAt) - Date.parse(prev.createdAt) < GROUP_MS;
  const kind = live.details.value?.kind;
  const role = live.myRole.value;
  const canDelete = !deleted && (own || (kind !== "direct" && (role === "admin" || role === "moderator")));
  const classes = ["msg", own && "own", cont && "cont", deleted && "deleted", !deleted && !own && mentions(m.text, me) && "mentions-me"];

  function onKeyDown(e: KeyboardEvent) {
    if (e.target !== e.currentTarget) {
      if (e.key === "Escape" && mode.value !== "idle") {
        mode.value = "idle";
        (e.currentTarget as HTMLElement).focus();
      }
      return;
    }
    const row = (e.currentTarget as HTMLElement).closest(".vl-row");
    const sibling = e.key === "ArrowUp" ? row?.previousElementSibling : e.key === "ArrowDown" ? row?.nextElementSibling : null;
    const target = sibling?.querySelector<HTMLElement>(".msg[tabindex]");
    if (target) {
      e.preventDefault();
      target.focus();
    } else if (e.key === "r" && !deleted) {
      e.preventDefault();
      onReply(m);
    }
  }

  const time = clockTime(m.createdAt);
  return (
    <>
      {newDay && (
        <div class="day" role="separator">
          <span>{dayLabel(m.createdAt)}</span>
        </div>
      )}
      <article class={classes.filter(Boolean).join(" ")} tabIndex={0} data-seq={m.seq} aria-label={`${m.author.name}, ${time}`} onKeyDown={onKeyDown}>
        {cont ? <span class="gutter">{time}</span> : <Avatar user={m.author} />}
        <div class="body">
          {!cont && (
            <header>
              <span class="author">{m.author.name}</span>
              <time dateTime={m.createdAt} title={new Date(m.createdAt).toLocaleString()}>
                {time}
              </time>
            </header>
          )}
          {m.replyTo && !deleted && (
            <button type="button" class="quote" onClick={() => onJump(m.replyTo!.id)} title="Show the message this replies to">
              {m.replyTo.deleted ? (
                <span class="muted">Deleted message</span>
              ) : (
                <>
                  <b>{m.replyTo.author.name}</b> {m.replyTo.excerpt}
                </>
              )}
            </button>
          )}
          {mode.value === "edit" ? (
            <EditBox m={m} live={live} done={() => (mode.value = "idle")} />
          ) : deleted ? (
            <p class="text">This message was deleted.</p>
          ) : (
            m.text && (
              <p class="text">
                <span>
                  <RichText text={m.text} me={me} />
                </span>
                {m.editedAt && <span class="edited"> (edited)</span>}
              </p>
            )
          )}
          {!deleted && m.attachments?.length > 0 && (
            <div class="attachments">
              {m.attachments.map((a) => (
                <Attachment key={a.id} a={a} />
              ))}
            </div>
          )}
          {!deleted && <Reactions m={m} live={live} />}
          {own && !deleted && <Receipt m={m} live={live} lastOwn={lastOwn} />}
          {mode.value === "seen" && <SeenBy m={m} live={live} />}
        </div>
        {!deleted && mode.value !== "edit" && (
          <div class={`actions ${mode.value !== "idle" ? "open" : ""}`} role="toolbar" aria-label="Actions">
            {mode.value === "confirm" ? (
              <>
                <span>Delete this message?</span>
                <button type="button" class="danger" onClick={() => (mode.value = "idle", void live.remove(m))}>
                  Delete
                </button>
                <button type="button" onClick={() => (mode.value = "idle")}>
                  Cancel
                </button>
              </>
            ) : (
              <>
                <button type="button" aria-label="React" aria-expanded={mode.value === "react"} onClick={() => (mode.value = mode.value === "react" ? "idle" : "react")}>
                  <Icon name="smile" />
                </button>
                <button type="button" aria-label="Reply" onClick={() => onReply(m)}>
                  <Icon name="reply" />
                </button>
                {own && (
                  <button type="button" aria-label="Edit" onClick={() => (mode.value = "edit")}>
                    <Icon name="edit" />
                  </button>
                )}
                {canDelete && (
                  <button type="button" aria-label="Delete" onClick={() => (mode.value = "confirm")}>
                    <Icon name="trash" />
                  </button>
                )}
                {own && kind !== "direct" && (
                  <button type="button" aria-label="Seen by" aria-expanded={mode.value === "seen"} onClick={() => (mode.value = mode.value === "seen" ? "idle" : "seen")}>
                    <Icon name="eye" />
                  </button>
                )}
              </>
            )}
            {mode.value === "react" && <EmojiPalette onPick={(e) => ((mode.value = "idle"), void live.react(m, e))} />}
          </div>
        )}
      </article>
    </>
  );
}

function EmojiPalette({ onPick }: { onPick(emoji: string): void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.querySelector("button")?.focus(), []);
  return (
    <div class="palette" ref={ref} role="group" aria-label="Pick a reaction">
      {QUICK_EMOJI.map((e) => (
        <button type="button" key={e} aria-label={`React with ${e}`} onClick={() => onPick(e)}>
          {e}
        </button>
      ))}
    </div>
  );
}

function Reactions({ m, live }: { m: Message; live: LiveRoom }) {
  const me = app().me.id;
  const entries = Object.entries(m.reactions ?? {}).filter(([, users]) => users.length > 0);
  if (!entries.length) return null;
  return (
    <div class="reactions">
      {entries.map(([emoji, users]) => {
        const mine = users.includes(me);
        return (
          <button
            type="button"
            key={emoji}
            class={mine ? "reaction mine" : "reaction"}
            aria-pressed={mine}
            aria-label={`${emoji} ${users.length}: ${mine ? "remove your reaction" : "react too"}`}
            title={users.join(", ")}
            onClick={() => void live.react(m, emoji)}
          >
            {emoji} {users.length}
          </button>
        );
      })}
    </div>
  );
}

/** Delivery ticks in a direct room; elsewhere how many have read it. */
function Receipt({ m, live, lastOwn }: { m: Message; live: LiveRoom; lastOwn: boolean }) {
  const readUpTo = live.readUpTo.value;
  if (live.details.value?.kind === "direct") {
    const peer = live.peer.value;
    const read = m.status === "read" || (!!peer && (readUpTo.get(peer.id) ?? 0) >= m.seq);
    const status = read ? "read" : (m.status ?? "sent");
    const label = status === "read" ? "Read" : status === "delivered" ? "Delivered" : "Sent";
    return (
      <span class={`ticks ${status}`} title={label} aria-label={label}>
        {status === "sent" ? "✓" : "✓✓"}
      </span>
    );
  }
  let live_ = 0;
  for (const [id, seq] of readUpTo) if (id !== m.author.id && seq >= m.seq) live_++;
  const count = Math.max(m.readBy ?? 0, live_);
  if (!lastOwn || count === 0) return null;
  return <span class="seen">Seen by {count}</span>;
}

function SeenBy({ m, live }: { m: Message; live: LiveRoom }) {
  const names = useSignal<string[] | null>(null);
  useEffect(() => {
    app()
      .client.readers(live.roomId, m.id)
      .then(
        (r) => (names.value = r.readBy.map((u) => u.name)),
        (err) => toast(`Could not load who has seen it: ${reason(err)}`, "error"),
      );
  }, [m.id, live.readUpTo.value]);
  return (
    <p class="seen-by" role="status">
      {names.value === null ? "Loading…" : names.value.length ? `Seen by ${names.value.join(", ")}` : "Not seen by anyone yet"}
    </p>
  );
}

function EditBox({ m, live, done }: { m: Message; live: LiveRoom; done(): void }) {
  const ref = useRef<HTMLTextAreaElement>(null);
  // Before the box is painted: typing that starts as soon as it shows must not have the caret
  // moved under it (keys typed over a selection would land after the old text instead).
  useLayoutEffect(() => {
    const el = ref.current;
    if (el) {
      el.focus();
      el.setSelectionRange(el.value.length, el.value.length);
    }
  }, []);
  async function save() {
    const text = ref.current?.value.trim() ?? "";
    if (!text || text === m.text) return done();
    if (await live.edit(m, text)) done();
  }
  return (
    <div class="edit">
      <textarea
        ref={ref}
        aria-label="Edited text"
        defaultValue={m.text}
        rows={2}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            void save();
          } else if (e.key === "Escape") {
            e.stopPropagation();
            done();
          }
        }}
      />
      <div class="edit-buttons">
        <button type="button" class="primary" onClick={() => void save()}>
          Save
        </button>
        <button type="button" onClick={done}>
          Cancel
        </button>
      </div>
    </div>
  );
}
