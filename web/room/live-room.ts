/**
 * One open room for the view: the typed client's RoomConnection (its socket, message list,
 * outbox, typing indicator, who is here) turned into signals, and what only this app decides:
 * when the person has read, how a send refused as too fast waits its time, the room's details
 * and members. `close()` ends it when the person opens another room; sends not yet delivered
 * stay in the client's outbox and go out the next time the room is opened, here or after a reload.
 */
import { batch, computed, signal } from "@preact/signals";
import {
  ChatError,
  isPendingMessage,
  isRateLimited,
  newClientId,
  TYPING_SHOWN_MS,
  type ConnectionState,
  type FrameOf,
  type PendingMessage,
  type RoomConnection,
  type RoomMember,
  type RoomSummary,
  type TimelineEntry,
  type UserRef,
} from "../../src/client";
import { quoteOf, type AttachmentRef, type Message, type OnlineUser, type ReplyRef, type Topic } from "../../src/protocol";
import { app, learnRoles, SESSION_EXPIRED, signOut } from "../state/app";
import { readAllOf } from "../state/notifications";
import { markSeen, noteMessage, noteUpdated, refreshRooms, roomById } from "../state/rooms";
import { reason, toast } from "../state/toasts";

/** How a send on its way shows: its quote and files (a send restored after a reload has only their ids). */
export interface PendingView {
  replyTo: ReplyRef | null;
  /** null: files of a send from an earlier page, known only by their ids. */
  attachments: AttachmentRef[] | null;
}

/** Older messages per page (the most the history route gives). */
const PAGE = 100;
/** When to ask the client again who is typing after an `on`: just after it stops showing them. */
const TYPING_RECHECK_MS = TYPING_SHOWN_MS + 100;

export class LiveRoom {
  readonly room: RoomConnection;
  /** Messages in seq order, then this person's sends the server has not stored yet. */
  readonly entries = signal<TimelineEntry[]>([]);
  readonly state = signal<ConnectionState>("connecting");
  /** Why the room cannot be shown (not a member, no such room). */
  readonly refusal = signal<string | null>(null);
  readonly details = signal<RoomSummary | null>(null);
  readonly members = signal<RoomMember[]>([]);
  readonly online = signal<Map<string, OnlineUser>>(new Map());
  readonly onlineCount = signal(0);
  /** Who else is typing. */
  readonly typing = signal<UserRef[]>([]);
  readonly topics = signal<Topic[]>([]);
  readonly hasOlder = signal(true);
  readonly loadingOlder = signal(false);
  /** Welcomed once: the newest messages are here. */
  readonly loaded = signal(false);
  /** Highest seq each member has read, from `read` frames (delivery ticks, "seen by"). */
  readonly readUpTo = signal<Map<string, number>>(new Map());
  /** When sends are refused for being too fast: until when, and why. */
  readonly cooldown = signal<{ until: number; why: string } | null>(null);
  /** Sends not refused and not yet stored (the offline banner counts them). */
  readonly waiting = computed(() => this.entries.value.filter((e) => isPendingMessage(e) && !e.error).length);

  readonly myRole = computed(() => this.members.value.find((m) => m.id === app().me.id)?.role ?? this.details.value?.role ?? "member");
  readonly peer = computed(() => (this.details.value?.kind === "direct" ? (this.members.value.find((m) => m.id !== app().me.id) ?? null) : null));
  readonly title = computed(() => titleOf(this.details.value, this.peer.value?.name, this.roomId));

  /** Set by the view: whether the newest messages are in sight. */
  atBottom = true;
  private closed = false;
  /** The quote and files of sends made on this page, by clientId. */
  private readonly views = new Map<string, PendingView>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly disposers: (() => void)[] = [];

  constructor(readonly roomId: string) {
    const known = roomById(roomId);
    if (known) this.details.value = known;
    // Opened at once, so a message written while access is being checked goes into the outbox.
    const r = (this.room = app().client.room(roomId));
    this.disposers.push(
      r.on("change", () => this.refresh()),
      // Acknowledged before its copy arrived: it shows as sent.
      r.on("ack", () => this.refresh()),
      r.on("state", (s) => (this.state.value = s)),
      r.on("welcome", (f) => {
        learnRoles(f.you.roles);
        this.loaded.value = true;
        this.readPeople();
      }),
      r.on("presence", () => this.readPeople()),
      r.on("typing", (f) => {
        this.readTyping();
        if (f.on) this.later(() => this.readTyping(), TYPING_RECHECK_MS);
      }),
      r.on("message", (m) => {
        noteMessage(m);
        this.scheduleRead();
      }),
      r.on("updated", noteUpdated),
      r.on("read", (f) => {
        const next = new Map(this.readUpTo.value);
        next.set(f.userId, Math.max(f.seq, next.get(f.userId) ?? 0));
        this.readUpTo.value = next;
      }),
      r.on("topics", (f) => (this.topics.value = f.topics)),
      r.on("failed", (_, err) => isRateLimited(err) && this.tooFast(err.retryAfter, err.message)),
      r.on("error", (f) => this.onError(f)),
    );
  }

  /** The room's details and members over REST; a refusal shows instead of the room. */
  async open(): Promise<void> {
    if (!(await this.refreshDetails(true)) || this.closed) return;
    // A room opened by its address (a link, a search result) that the list does not show yet.
    if (!roomById(this.roomId)) refreshRooms();
    app()
      .client.topics(this.roomId, 8)
      .then(
        (t) => (this.topics.value = t.topics),
        () => {}, // topics are a nicety; the store being down must not show as an error
      );
    readAllOf(this.roomId);
    const onVisible = () => {
      this.room.setStatus(document.hidden ? "away" : "online");
      this.scheduleRead();
    };
    document.addEventListener("visibilitychange", onVisible);
    this.disposers.push(() => document.removeEventListener("visibilitychange", onVisible));
  }

  /** Members and settings again, after a change made here or elsewhere. False: the room refused. */
  async refreshDetails(first = false): Promise<boolean> {
    try {
      const { room, members } = await app().client.roomDetails(this.roomId);
      batch(() => {
        this.details.value = room;
        this.members.value = members;
      });
      return true;
    } catch (err) {
      if (this.closed) return false;
      const code = err instanceof ChatError ? err.code : "network";
      if (code === "unauthorized") signOut(SESSION_EXPIRED);
      else if (code === "forbidden" || code === "not_found") this.refuse(code);
      else if (first) this.refuse(`Could not open this conversation: ${reason(err)}`);
      else toast(`Could not reload the members: ${reason(err)}`, "error");
      return false;
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    clearTimeout(this.retryTimer);
    // A read that was waiting for its second is sent now: the person did see those messages.
    if (this.readTimer !== undefined) {
      clearTimeout(this.readTimer);
      this.readTimer = undefined;
      this.sendRead();
    }
    for (const d of this.disposers) d();
    this.room.close();
  }

  // ---- reading ----

  byId(id: string): Message | undefined {
    return this.room.timeline.byId(id);
  }

  /** Lowest seq loaded, or null when nothing is. */
  get firstSeq(): number | null {
    return this.room.timeline.firstSeq;
  }

  async loadOlder(): Promise<void> {
    if (this.loadingOlder.value || !this.room.hasOlder) return;
    this.loadingOlder.value = true;
    try {
      await this.room.loadOlder(PAGE);
    } catch (err) {
      if (!this.closed) toast(`Could not load older messages: ${reason(err)}`, "error");
    } finally {
      this.loadingOlder.value = false;
      this.hasOlder.value = this.room.hasOlder;
    }
  }

  /** The quote and files a send on its way shows. */
  viewOf(p: PendingMessage): PendingView {
    const known = this.views.get(p.clientId);
    if (known) return known;
    const quoted = p.replyTo ? this.byId(p.replyTo) : undefined;
    return { replyTo: quoted ? quoteOf(quoted.id, quoted) : null, attachments: p.attachments?.length ? null : [] };
  }

  /** Whether the server has stored a send whose copy is not here yet. */
  isAcknowledged(clientId: string): boolean {
    return !this.room.isPending(clientId);
  }

  // ---- sending ----

  send(text: string, replyTo: Message | null, attachments: AttachmentRef[]): void {
    const clientId = newClientId();
    this.views.set(clientId, { replyTo: replyTo ? quoteOf(replyTo.id, replyTo) : null, attachments });
    this.room.send(text, { clientId, replyTo: replyTo?.id, attachments: attachments.map((a) => a.id) }).catch((err: unknown) => {
      // A refusal stays in the list with its reason; one that never got there (too long) is said here.
      const closed = err instanceof ChatError && err.code === "closed";
      if (!closed && !this.room.timeline.pending(clientId)) toast(`Not sent: ${reason(err)}`, "error");
    });
    const slow = this.details.value?.slowModeSeconds ?? 0;
    if (slow > 0 && this.myRole.value === "member") this.cooldown.value = { until: Date.now() + slow * 1000, why: "slow" };
  }

  retry(clientId: string): void {
    this.room.retry(clientId).catch(() => {}); // the outcome shows in the list
  }

  discard(clientId: string): void {
    this.room.discard(clientId);
    this.views.delete(clientId);
  }

  /** Too fast (the send limit or slow mode): wait the time named, then send what was refused, once. */
  private tooFast(retryAfter: number | undefined, why: string): void {
    const waitMs = Math.max(1, retryAfter ?? 5) * 1000;
    this.cooldown.value = { until: Date.now() + waitMs, why };
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.cooldown.value = null;
      for (const e of this.room.messages()) if (isPendingMessage(e) && e.error?.code === "rate_limited") this.retry(e.clientId);
    }, waitMs);
  }

  async edit(m: Message, text: string): Promise<boolean> {
    try {
      await this.room.edit(m.id, text);
      return true;
    } catch (err) {
      toast(`Could not edit: ${reason(err)}`, "error");
      return false;
    }
  }

  async remove(m: Message): Promise<void> {
    await this.room.delete(m.id).catch((err: unknown) => toast(`Could not delete: ${reason(err)}`, "error"));
  }

  async react(m: Message, emoji: string): Promise<void> {
    const mine = (m.reactions?.[emoji] ?? []).includes(app().me.id);
    await this.room.react(m.id, emoji, !mine).catch((err: unknown) => toast(`Could not react: ${reason(err)}`, "error"));
  }

  // ---- read receipts ----

  /** The person has seen the newest messages: tell the room, at most once a second. */
  scheduleRead(): void {
    if (document.hidden || this.readTimer !== undefined) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      this.sendRead();
    }, 1000);
  }

  private sendRead(): void {
    if (document.hidden || !this.atBottom) return;
    this.room.markAllRead();
    markSeen(this.roomId);
  }

  // ---- internals ----

  private refresh(): void {
    batch(() => {
      this.entries.value = this.room.messages();
      this.hasOlder.value = this.room.hasOlder;
      // Their message arrived: the client no longer counts them as typing.
      this.readTyping();
    });
  }

  private readPeople(): void {
    batch(() => {
      this.online.value = new Map(this.room.onlineUsers().map((u) => [u.id, u]));
      this.onlineCount.value = this.room.onlineCount;
    });
  }

  private readTyping(): void {
    const me = app().me.id;
    const now = this.room.typingUsers().filter((u) => u.id !== me);
    const before = this.typing.peek();
    if (now.length !== before.length || now.some((u, i) => u.id !== before[i]?.id)) this.typing.value = now;
  }

  private onError(f: FrameOf<"error">): void {
    if (f.code === "unauthorized") return signOut(SESSION_EXPIRED);
    // The connection ended because the room refuses this person.
    if (this.room.state === "closed" && (f.code === "forbidden" || f.code === "not_found")) return this.refuse(f.code);
    if (f.code === "rate_limited") return this.tooFast(f.retryAfter, f.message);
    toast(f.message, "error");
  }

  private refuse(why: "forbidden" | "not_found" | (string & {})): void {
    batch(() => {
      this.refusal.value =
        why === "forbidden" ? "You are not a member of this conversation." : why === "not_found" ? "There is no such conversation." : why;
      this.state.value = "closed";
    });
    this.room.close();
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

export function titleOf(room: RoomSummary | null, peerName: string | undefined, id: string): string {
  if (!room) return id === "community" ? "Community" : "…";
  if (room.kind === "community") return room.title || "Community";
  if (room.kind === "direct") return room.title || peerName || "Direct message";
  return room.title || id;
}
