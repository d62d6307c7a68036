/**
 * One open room: its socket, messages, sends on their way, who is here and who is typing. The
 * view renders from its signals; `close()` ends it when the person opens another room.
 */
import { batch, computed, signal } from "@preact/signals";
import { ChatError, newClientId, type ConnectionState, type RoomConnection } from "../../src/client";
import type { AttachmentRef, Message, OnlineUser, ReplyRef, Topic } from "../../src/protocol";
import type { Member, RoomView } from "../api";
import { app, learnRoles, SESSION_EXPIRED, signOut } from "../state/app";
import { online as browserOnline } from "../state/net";
import { markSeen, noteMessage, noteUpdated, refreshRooms, roomById } from "../state/rooms";
import { readAllOf } from "../state/notifications";
import { reason, toast } from "../state/toasts";
import { Timeline } from "./timeline";

/** A send that has no message yet. */
export interface Outgoing {
  clientId: string;
  text: string;
  replyTo: ReplyRef | null;
  attachments: AttachmentRef[];
  /** queued: held while the browser is offline; sent: acked, its message not here yet. */
  state: "queued" | "sending" | "sent" | "failed";
  error?: string;
}

const TYPING_SHOW_MS = 3500;
const TYPING_RESEND_MS = 2000;
const PAGE = 100;

export class LiveRoom {
  readonly timeline = new Timeline();
  readonly outgoing = signal<Outgoing[]>([]);
  readonly state = signal<ConnectionState>("connecting");
  /** Why the room cannot be shown (not a member, no such room). */
  readonly refusal = signal<string | null>(null);
  readonly details = signal<RoomView | null>(null);
  readonly members = signal<Member[]>([]);
  readonly online = signal<Map<string, OnlineUser>>(new Map());
  readonly typing = signal<Map<string, string>>(new Map());
  readonly topics = signal<Topic[]>([]);
  /** Seq to load older history before; null when the start of the room is here. */
  readonly nextBefore = signal<number | null>(null);
  readonly loadingOlder = signal(false);
  readonly loaded = signal(false);
  /** Highest seq each member has read, from `read` frames (delivery ticks, "seen by"). */
  readonly readUpTo = signal<Map<string, number>>(new Map());
  /** When sends are refused for being too fast: until when, and why. */
  readonly cooldown = signal<{ until: number; why: string } | null>(null);

  readonly myRole = computed(() => this.members.value.find((m) => m.id === app().me.id)?.role ?? this.details.value?.role ?? "member");
  readonly peer = computed(() => (this.details.value?.kind === "direct" ? this.members.value.find((m) => m.id !== app().me.id) ?? null : null));
  readonly title = computed(() => titleOf(this.details.value, this.peer.value?.name, this.roomId));

  private conn: RoomConnection | null = null;
  private closed = false;
  private readonly typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private lastTypingSent = 0;
  private lastReadSent = 0;
  private readTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly disposers: (() => void)[] = [];

  constructor(readonly roomId: string) {
    const known = roomById(roomId);
    if (known) this.details.value = known;
  }

  /** Checks access over REST first: a refused socket upgrade would only be retried forever. */
  async open(): Promise<void> {
    const { client } = app();
    try {
      const { room, members } = await client.roomDetails(this.roomId);
      if (this.closed) return;
      batch(() => {
        this.details.value = room as RoomView;
        this.members.value = members as Member[];
      });
    } catch (err) {
      if (this.closed) return;
      const code = err instanceof ChatError ? err.code : "network";
      if (code === "unauthorized") return signOut(SESSION_EXPIRED);
      this.refusal.value =
        code === "forbidden"
          ? "You are not a member of this conversation."
          : code === "not_found"
            ? "There is no such conversation."
            : `Could not open this conversation: ${reason(err)}`;
      this.state.value = "closed";
      return;
    }
    // A room opened by its address (a link, a search result) that the list does not show yet.
    if (!roomById(this.roomId)) refreshRooms();
    this.connect();
    client.topics(this.roomId, 8).then(
      (t) => (this.topics.value = t.topics),
      () => {}, // topics are a nicety; the store being down must not show as an error
    );
    readAllOf(this.roomId);
    const onVisible = () => {
      this.conn?.setStatus(document.hidden ? "away" : "online");
      this.scheduleRead();
    };
    document.addEventListener("visibilitychange", onVisible);
    this.disposers.push(() => document.removeEventListener("visibilitychange", onVisible));
    // Sends held while the browser was offline go out once it is back.
    this.disposers.push(browserOnline.subscribe((on) => on && this.flushQueued()));
  }

  /** Members and settings again, after a change made here or elsewhere. */
  async refreshDetails(): Promise<void> {
    try {
      const { room, members } = await app().client.roomDetails(this.roomId);
      batch(() => {
        this.details.value = room as RoomView;
        this.members.value = members as Member[];
      });
    } catch (err) {
      toast(`Could not reload the members: ${reason(err)}`, "error");
    }
  }

  private connect(): void {
    const conn = app().client.room(this.roomId);
    this.conn = conn;
    conn.on("state", (s) => (this.state.value = s));
    conn.on("welcome", (f, reconnect) => {
      learnRoles(f.you.roles);
      this.online.value = new Map(f.online.map((u) => [u.id, u]));
      if (!reconnect) {
        const first = f.recent[0]?.seq ?? f.lastSeq + 1;
        batch(() => {
          this.nextBefore.value = first > 1 ? first : null;
          this.loaded.value = true;
        });
      }
    });
    conn.on("message", (m) => this.onMessage(m));
    conn.on("ack", (f) => this.onAck(f.clientId));
    conn.on("updated", (m) => {
      this.timeline.update(m);
      noteUpdated(m);
    });
    conn.on("typing", (f) => this.setTyping(f.userId, f.name, f.on));
    conn.on("presence", (f) => {
      const next = new Map(this.online.value);
      if (f.status === "offline") next.delete(f.userId);
      else next.set(f.userId, { id: f.userId, name: f.name, status: f.status });
      this.online.value = next;
    });
    conn.on("read", (f) => {
      const next = new Map(this.readUpTo.value);
      next.set(f.userId, Math.max(f.seq, next.get(f.userId) ?? 0));
      this.readUpTo.value = next;
    });
    conn.on("topics", (f) => (this.topics.value = f.topics));
    this.flushQueued();
    conn.on("error", (f) => {
      if (f.code === "unauthorized") return signOut(SESSION_EXPIRED);
      if (f.code === "rate_limited") return this.tooFast(f.retryAfter, f.message);
      toast(f.message, "error");
    });
  }

  close(): void {
    this.closed = true;
    for (const t of this.typingTimers.values()) clearTimeout(t);
    // A read that was waiting for its second is sent now: the person did see those messages.
    if (this.readTimer !== undefined) {
      clearTimeout(this.readTimer);
      this.readTimer = undefined;
      this.sendRead();
    }
    clearTimeout(this.retryTimer);
    for (const d of this.disposers) d();
    this.conn?.close();
  }

  // ---- messages ----

  private onMessage(m: Message): void {
    batch(() => {
      this.timeline.add([m]);
      if (m.clientId && this.outgoing.value.some((o) => o.clientId === m.clientId)) {
        this.outgoing.value = this.outgoing.value.filter((o) => o.clientId !== m.clientId);
      }
      this.setTyping(m.author.id, m.author.name, false);
    });
    noteMessage(m);
    this.scheduleRead();
  }

  private onAck(clientId: string): void {
    if (this.timeline.hasClientId(clientId)) {
      this.outgoing.value = this.outgoing.value.filter((o) => o.clientId !== clientId);
    } else {
      this.patchOutgoing(clientId, { state: "sent" });
    }
  }

  async loadOlder(): Promise<void> {
    const before = this.nextBefore.value;
    if (this.loadingOlder.value || before === null) return;
    this.loadingOlder.value = true;
    try {
      const page = await app().client.history(this.roomId, { before, limit: PAGE });
      if (this.closed) return;
      batch(() => {
        this.timeline.add(page.messages);
        this.nextBefore.value = page.nextBefore;
      });
    } catch (err) {
      toast(`Could not load older messages: ${reason(err)}`, "error");
    } finally {
      this.loadingOlder.value = false;
    }
  }

  send(text: string, replyTo: Message | null, attachments: AttachmentRef[]): void {
    const o: Outgoing = {
      clientId: newClientId(),
      text,
      replyTo: replyTo ? { id: replyTo.id, author: replyTo.author, excerpt: replyTo.text.slice(0, 140) } : null,
      attachments,
      state: browserOnline.value ? "sending" : "queued",
    };
    this.outgoing.value = [...this.outgoing.value, o];
    this.typingOff();
    if (o.state === "sending") this.dispatch(o);
    const slow = this.details.value?.slowModeSeconds ?? 0;
    if (slow > 0 && this.myRole.value === "member") this.cooldown.value = { until: Date.now() + slow * 1000, why: "slow" };
  }

  private dispatch(o: Outgoing): void {
    const conn = this.conn;
    // Written before the room's socket exists (access is still being checked): it waits.
    if (!conn) return this.patchOutgoing(o.clientId, { state: "queued" });
    conn.send(o.text, { clientId: o.clientId, replyTo: o.replyTo?.id, attachments: o.attachments.map((a) => a.id) }).then(
      (ack) => this.onAck(ack.clientId),
      (err: unknown) => {
        if (err instanceof ChatError && err.code === "closed") return;
        const code = err instanceof ChatError ? err.code : "network";
        if (code === "rate_limited") {
          this.tooFast(err instanceof ChatError ? err.retryAfter : undefined, reason(err));
          this.patchOutgoing(o.clientId, { state: "queued", error: reason(err) });
          return;
        }
        this.patchOutgoing(o.clientId, { state: "failed", error: reason(err) });
      },
    );
  }

  /** Too fast (the send limit or slow mode): wait, then send what waits, once. */
  private tooFast(retryAfter: number | undefined, why: string): void {
    const waitMs = Math.max(1, retryAfter ?? 5) * 1000;
    this.cooldown.value = { until: Date.now() + waitMs, why };
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.cooldown.value = null;
      this.flushQueued();
    }, waitMs);
  }

  private flushQueued(): void {
    if (!browserOnline.value || (this.cooldown.value && this.cooldown.value.until > Date.now())) return;
    for (const o of this.outgoing.value) {
      if (o.state !== "queued") continue;
      this.patchOutgoing(o.clientId, { state: "sending", error: undefined });
      this.dispatch(o);
    }
  }

  retry(clientId: string): void {
    const o = this.outgoing.value.find((x) => x.clientId === clientId);
    if (!o) return;
    // A new clientId: the first one was refused, so the server stored nothing under it.
    const again: Outgoing = { ...o, clientId: newClientId(), state: browserOnline.value ? "sending" : "queued", error: undefined };
    this.outgoing.value = [...this.outgoing.value.filter((x) => x.clientId !== clientId), again];
    if (again.state === "sending") this.dispatch(again);
  }

  discard(clientId: string): void {
    this.outgoing.value = this.outgoing.value.filter((x) => x.clientId !== clientId);
  }

  private patchOutgoing(clientId: string, patch: Partial<Outgoing>): void {
    this.outgoing.value = this.outgoing.value.map((o) => (o.clientId === clientId ? { ...o, ...patch } : o));
  }

  async edit(m: Message, text: string): Promise<boolean> {
    try {
      this.timeline.update((await app().api.edit(this.roomId, m.id, text)).message);
      return true;
    } catch (err) {
      toast(`Could not edit: ${reason(err)}`, "error");
      return false;
    }
  }

  async remove(m: Message): Promise<void> {
    try {
      this.timeline.update((await app().api.remove(this.roomId, m.id)).message);
    } catch (err) {
      toast(`Could not delete: ${reason(err)}`, "error");
    }
  }

  async react(m: Message, emoji: string): Promise<void> {
    const mine = (m.reactions?.[emoji] ?? []).includes(app().me.id);
    try {
      this.timeline.update((await app().api.react(this.roomId, m.id, emoji, !mine)).message);
    } catch (err) {
      toast(`Could not react: ${reason(err)}`, "error");
    }
  }

  // ---- typing, reading ----

  typed(hasText: boolean): void {
    const now = Date.now();
    if (hasText && now - this.lastTypingSent > TYPING_RESEND_MS) {
      this.lastTypingSent = now;
      this.conn?.typing(true);
    } else if (!hasText) {
      this.typingOff();
    }
  }

  private typingOff(): void {
    if (!this.lastTypingSent) return;
    this.lastTypingSent = 0;
    this.conn?.typing(false);
  }

  private setTyping(userId: string, name: string, on: boolean): void {
    clearTimeout(this.typingTimers.get(userId));
    this.typingTimers.delete(userId);
    const next = new Map(this.typing.value);
    if (on && userId !== app().me.id) {
      next.set(userId, name);
      this.typingTimers.set(userId, setTimeout(() => this.setTyping(userId, name, false), TYPING_SHOW_MS));
    } else if (!next.delete(userId)) {
      return;
    }
    this.typing.value = next;
  }

  /** The person has seen the newest messages: tell the room, at most once a second. */
  scheduleRead(): void {
    if (document.hidden || this.readTimer !== undefined) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      this.sendRead();
    }, 1000);
  }

  private sendRead(): void {
    const seq = this.timeline.last?.seq ?? 0;
    if (!document.hidden && seq > this.lastReadSent && this.atBottom) {
      this.lastReadSent = seq;
      this.conn?.markRead(seq);
      markSeen(this.roomId);
    }
  }

  /** Set by the view: whether the newest messages are in sight. */
  atBottom = true;
}

export function titleOf(room: RoomView | null, peerName: string | undefined, id: string): string {
  if (!room) return id === "community" ? "Community" : "…";
  if (room.kind === "community") return room.title || "Community";
  if (room.kind === "direct") return room.title || peerName || "Direct message";
  return room.title || id;
}
