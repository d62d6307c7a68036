/**
 * The open room: header (title, who is here, settings), trending topics, the message list
 * (virtual: smooth at 10,000 messages, older pages loaded as the reader nears the top), who is
 * typing, and the composer.
 */
import { signal, useComputed, useSignal } from "@preact/signals";
import { useEffect, useMemo, useRef } from "preact/hooks";
import { isPendingMessage, type TimelineEntry } from "../../src/client";
import type { Message } from "../../src/protocol";
import { app } from "../state/app";
import { online as browserOnline } from "../state/net";
import { navigate } from "../state/route";
import { setArchived } from "../state/rooms";
import { toast } from "../state/toasts";
import { Avatar } from "../ui/format";
import { Icon } from "../ui/icons";
import { RoomSettings } from "../ui/RoomSettings";
import { VirtualList, type VirtualHandle } from "../ui/VirtualList";
import { Composer } from "./Composer";
import { LiveRoom } from "./live-room";
import { MessageRow } from "./MessageRow";
import { OutgoingRow } from "./OutgoingRow";

/** The room on screen, for what lives outside it (the offline banner, unread counts). */
export const currentRoom = signal<LiveRoom | null>(null);
/** A message to show once its room is open (from search or a notification). */
export const jumpTarget = signal<{ roomId: string; messageId: string; seq: number } | null>(null);


export function ChatRoom({ roomId }: { roomId: string }) {
  const live = useMemo(() => new LiveRoom(roomId), [roomId]);
  const list = useRef<VirtualHandle | null>(null);
  const replyTo = useSignal<Message | null>(null);
  const panel = useSignal<"members" | "settings" | null>(null);
  const atBottom = useSignal(true);

  useEffect(() => {
    currentRoom.value = live;
    void live.open();
    return () => {
      live.close();
      if (currentRoom.peek() === live) currentRoom.value = null;
    };
  }, [live]);

  useEffect(() => {
    document.title = `${live.title.value} · edge-chat`;
  }, [live.title.value]);

  // Search results and notifications open a room at one message: load back to it, then show it.
  useEffect(() => {
    const target = jumpTarget.value;
    if (!target || target.roomId !== roomId || !live.loaded.value) return;
    void (async () => {
      for (let pages = 0; pages < 200 && !live.byId(target.messageId) && live.hasOlder.value; pages++) {
        if ((live.firstSeq ?? Infinity) <= target.seq) break;
        await live.loadOlder();
      }
      jumpTarget.value = null;
      requestAnimationFrame(() => list.current?.scrollToKey(target.messageId));
    })();
  }, [jumpTarget.value, live.loaded.value]);

  const items = live.entries.value;
  const lastOwnId = useComputed(() => {
    const mine = app().me.id;
    return live.entries.value.findLast((e): e is Message => !isPendingMessage(e) && e.author.id === mine)?.id ?? null;
  }).value;

  if (live.refusal.value) {
    return (
      <section class="room" aria-label="Conversation">
        <RoomHeader live={live} panel={panel.value} setPanel={(p) => (panel.value = p)} />
        <div class="notice error" role="alert">
          <p>{live.refusal.value}</p>
          <a href="#">Back to your conversations</a>
        </div>
      </section>
    );
  }

  function jump(id: string) {
    if (!list.current?.scrollToKey(id)) {
      const quoted = items.some((e) => !isPendingMessage(e) && e.replyTo?.id === id);
      if (!quoted) return;
      toast("That message is further back; loading it…");
      void (async () => {
        for (let i = 0; i < 50 && !live.byId(id) && live.hasOlder.value; i++) await live.loadOlder();
        requestAnimationFrame(() => list.current?.scrollToKey(id) || toast("That message is no longer available."));
      })();
    }
  }

  const header = (
    <div class="history-edge">
      {!live.hasOlder.value && live.loaded.value ? (
        <p class="start">{items.length === 0 ? `No messages in ${live.title.value} yet. Say hello!` : `This is the start of ${live.title.value}.`}</p>
      ) : live.loaded.value ? (
        <button type="button" class="older" onClick={() => void live.loadOlder()} disabled={live.loadingOlder.value}>
          {live.loadingOlder.value ? "Loading…" : "Load older messages"}
        </button>
      ) : (
        <p class="start">Loading…</p>
      )}
    </div>
  );

  const typing = live.typing.value.map((u) => u.name);
  return (
    <section class="room" aria-label={`Conversation: ${live.title.value}`}>
      <RoomHeader live={live} panel={panel.value} setPanel={(p) => (panel.value = p)} />
      <Topics live={live} />
      <div class="room-body">
        <div class="timeline">
          <VirtualList<TimelineEntry>
            items={items}
            keyOf={(i) => (isPendingMessage(i) ? `out:${i.clientId}` : i.id)}
            estimate={56}
            class="list"
            label={`Chat history: ${live.title.value}`}
            header={header}
            handle={list}
            onNearTop={() => live.loaded.value && void live.loadOlder()}
            onBottomChange={(b) => {
              atBottom.value = b;
              live.atBottom = b;
              if (b) live.scheduleRead();
            }}
            render={(item, index) =>
              isPendingMessage(item) ? (
                <OutgoingRow p={item} live={live} />
              ) : (
                <MessageRow
                  m={item}
                  prev={index > 0 ? (items[index - 1] as Message) : undefined}
                  live={live}
                  lastOwn={item.id === lastOwnId}
                  onReply={(m) => (replyTo.value = m)}
                  onJump={jump}
                />
              )
            }
          />
          {!atBottom.value && (
            <button type="button" class="to-bottom" onClick={() => list.current?.scrollToBottom()}>
              <Icon name="down" size={14} /> Newest
            </button>
          )}
        </div>
        {panel.value === "members" && <Members live={live} />}
      </div>
      <p class="typing" aria-live="polite">
        {typing.length === 0 ? "" : typing.length === 1 ? `${typing[0]} is typing…` : typing.length === 2 ? `${typing[0]} and ${typing[1]} are typing…` : "Several people are typing…"}
      </p>
      <Composer
        live={live}
        replyTo={replyTo.value}
        clearReply={() => (replyTo.value = null)}
      />
      {panel.value === "settings" && <RoomSettings live={live} onClose={() => (panel.value = null)} />}
    </section>
  );
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

const STATE_LABEL = { connecting: "Connecting…", open: "Connected", reconnecting: "Reconnecting…", closed: "Offline" } as const;

function RoomHeader({ live, panel, setPanel }: { live: LiveRoom; panel: string | null; setPanel(p: "members" | "settings" | null): void }) {
  const room = live.details.value;
  const peer = live.peer.value;
  const online = live.online.value;
  let subtitle = "";
  if (room?.kind === "direct" && peer) subtitle = online.has(peer.id) ? (online.get(peer.id)!.status === "away" ? "away" : "online") : "offline";
  else if (room?.kind === "visitor") subtitle = "Website visitor";
  else if (room) subtitle = `${plural(live.members.value.length, "member")} · ${live.onlineCount.value} here`;
  const slow = room?.slowModeSeconds ?? 0;
  const isGroupAdmin = (room?.kind === "group" || room?.kind === "community") && live.myRole.value === "admin";
  return (
    <header class="room-head">
      <a class="back" href="#" aria-label="Back to conversations">
        <Icon name="back" size={22} />
      </a>
      {peer && <Avatar user={peer} size={32} />}
      <div class="head-title">
        <h1>{live.title.value}</h1>
        <p class="sub">
          {subtitle && <span class={room?.kind === "direct" ? `presence ${subtitle}` : ""}>{subtitle}</span>}
          {slow > 0 && <span class="tag">Slow mode {slow} s</span>}
        </p>
      </div>
      {/* The browser may keep a socket it cannot use while offline: say what the person can expect. */}
      <span class="conn" data-state={browserOnline.value ? live.state.value : "closed"}>
        {browserOnline.value ? STATE_LABEL[live.state.value] : "Offline"}
      </span>
      {room && room.kind !== "direct" && (
        <button type="button" aria-pressed={panel === "members"} onClick={() => setPanel(panel === "members" ? null : "members")}>
          Members
        </button>
      )}
      {room && (room.kind === "group" || isGroupAdmin) && (
        <button type="button" onClick={() => setPanel("settings")}>
          {room.kind === "group" ? "Group settings" : "Room settings"}
        </button>
      )}
      {room && room.kind !== "community" && (
        <button type="button" onClick={() => void setArchived(live.roomId, true).then(() => navigate({ kind: "home" }))}>
          Archive
        </button>
      )}
    </header>
  );
}

function Topics({ live }: { live: LiveRoom }) {
  const topics = live.topics.value;
  if (!topics.length) return null;
  return (
    <nav class="topics" aria-label="Trending topics">
      <span class="muted">Trending:</span>
      {topics.slice(0, 6).map((t) => (
        <a key={t.word} class="chip" href={`#/search?${new URLSearchParams({ q: t.word, room: live.roomId })}`}>
          #{t.word}
        </a>
      ))}
    </nav>
  );
}

function Members({ live }: { live: LiveRoom }) {
  const online = live.online.value;
  const members = [...live.members.value].sort((a, b) => Number(online.has(b.id)) - Number(online.has(a.id)) || a.name.localeCompare(b.name));
  return (
    <aside class="members" aria-label="Members">
      <h2>Members</h2>
      <ul>
        {members.map((m) => {
          const status = online.get(m.id)?.status ?? "offline";
          return (
            <li key={m.id} class={`person ${status}`}>
              <Avatar user={m} size={24} />
              <span class="name">
                {m.name}
                {m.id === app().me.id && <span class="muted"> (you)</span>}
              </span>
              {m.role !== "member" && <span class="tag">{m.role}</span>}
              <span class="dot" role="img" aria-label={status} title={status} />
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
