/**
 * A room's socket, kept open until `close()`. It survives reconnects without losing or
 * duplicating anything: sends wait in the outbox (also across page reloads) and go out again in
 * order with their clientId until acknowledged, and messages are delivered once each in seq
 * order, gaps filled by `sync` (the Sequencer). The Timeline is the list an app shows.
 */
import { checkText, MAX_FRAME_BYTES, type ClientFrame, type Identity, type Message, type OnlineUser, type ServerFrame, type UserRef } from "../protocol";
import { Emitter } from "./emitter";
import { ChatError } from "./errors";
import { newClientId } from "./ids";
import { Outbox, type OutboxRecord, type OutboxStore } from "./outbox";
import { RoomPeople } from "./people";
import type { RestClient } from "./rest";
import { Sequencer } from "./sequencer";
import { SocketCore, type ConnectionState } from "./socket";
import { Timeline, type PendingMessage, type TimelineEntry } from "./timeline";
import { TypingIndicator } from "./typing";

export type FrameOf<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;
export type Ack = FrameOf<"ack">;

export interface RoomEvents {
  /** Socket state; `open` means welcomed (authorized), not merely TCP-connected. */
  state: (state: ConnectionState) => void;
  /** `reconnect` is false only for the first welcome of this connection object. */
  welcome: (frame: FrameOf<"welcome">, reconnect: boolean) => void;
  /** Each message exactly once, in seq order: from `welcome.recent`, live frames and syncs. */
  message: (message: Message) => void;
  /** One of our sends is stored (once per send: a resend's repeated ack is not reported again). */
  ack: (frame: Ack) => void;
  /** A send is queued and shows as pending: a new one, or one restored from the outbox. */
  pending: (message: PendingMessage) => void;
  /** The server refused a send (it stays in the timeline, with `error`, until retried or discarded). */
  failed: (message: PendingMessage, error: ChatError) => void;
  updated: (message: Message) => void;
  typing: (frame: FrameOf<"typing">) => void;
  presence: (frame: FrameOf<"presence">) => void;
  read: (frame: FrameOf<"read">) => void;
  /** The room's top 10 topics changed (at most every 10 s). */
  topics: (frame: FrameOf<"topics">) => void;
  sync: (frame: FrameOf<"sync">) => void;
  /** Older messages loaded by `loadOlder()`, ascending. */
  older: (messages: Message[]) => void;
  /** Anything in `messages()` changed; once for many changes together (a sync page, a batch). */
  change: () => void;
  /**
   * Refused frames that are not a send of ours (those reject the `send` promise instead), and
   * the end of the connection: `unauthorized` when the token no longer gets a socket, `forbidden`
   * or `not_found` when the room refuses this user, `conflict` when a newer socket replaced it.
   */
  error: (frame: FrameOf<"error">) => void;
}

export interface PendingSend {
  clientId: string;
  text: string;
  replyTo?: string;
  /** Ids of uploads (`ChatClient.upload`) the message carries. */
  attachments?: string[];
}

export interface SendOptions {
  replyTo?: string;
  /** Reuse to make a retry idempotent; a new one is made when absent. */
  clientId?: string;
  attachments?: string[];
}

interface Entry extends OutboxRecord {
  promise: Promise<Ack>;
  resolve: (ack: Ack) => void;
  reject: (err: ChatError) => void;
}

export interface RoomConnectionOptions {
  outbox: OutboxStore;
  /** The user sending, if known before the welcome (files the outbox under them). */
  userId: Promise<string | null>;
}

export class RoomConnection {
  readonly roomId: string;
  state: ConnectionState = "connecting";
  /** Messages and pending sends, as a list shows them (`messages()`). */
  readonly timeline = new Timeline();
  /** Call `typingIndicator.input(text)` on keystrokes and `.blur()` when the field is left. */
  readonly typingIndicator: TypingIndicator;
  private readonly events = new Emitter<RoomEvents>();
  // Named `ws` because tests reach in to drop the connection (`ws.reconnect()`).
  private readonly ws: SocketCore;
  private readonly sequencer: Sequencer;
  private readonly outbox: Outbox<Entry>;
  private welcomed = false;
  private everWelcomed = false;
  private restored = false;
  private status: "online" | "away" = "online";
  private lastReadSent = 0;
  private you: Identity | null = null;
  private readonly people = new RoomPeople();
  /** Where the next older page starts: undefined until known, null when there is none. */
  private nextBefore: number | null | undefined;
  private loadingOlder: Promise<Message[]> | null = null;
  private changeQueued = false;
  private readonly youKnown: Promise<string>;
  private knowYou!: (id: string) => void;

  constructor(
    private readonly api: RestClient,
    roomId: string,
    options: RoomConnectionOptions,
  ) {
    this.roomId = roomId;
    this.youKnown = new Promise((resolve) => (this.knowYou = resolve));
    const userId = options.userId.then((id) => id ?? this.youKnown);
    const origin = new URL(api.options.baseUrl).origin;
    this.outbox = new Outbox(options.outbox, userId.then((id) => `${origin}|${id}|${roomId}`));
    void userId.then((id) => (this.timeline.me ??= id));
    this.typingIndicator = new TypingIndicator((on) => this.sendNow({ type: "typing", on }));
    this.sequencer = new Sequencer(
      (m) => this.deliver(m),
      (after) => void this.sendNow({ type: "sync", after }),
    );
    this.ws = new SocketCore(api, "room", roomId, {
      open: () => {},
      frame: (f) => this.onFrame(f),
      close: (refused) => this.onClose(refused),
      fatal: (err) => this.end(err),
    });
    void this.outbox
      .restore((record) => this.entry(record))
      .then((restored) => {
        for (const e of restored) {
          // Nobody awaits a restored send: its outcome shows in the timeline.
          e.promise.catch(() => {});
          this.showPending(e);
        }
        this.restored = true;
        this.flushOutbox();
      });
  }

  on<K extends keyof RoomEvents>(event: K, fn: RoomEvents[K]): () => void {
    return this.events.on(event, fn);
  }

  // ---- Sending ----

  /**
   * Sends a message: it shows at once as pending (`pending` event, `messages()`), goes out now
   * or as soon as the socket is back (also after a reload, from the outbox), and is replaced by
   * the server's copy. Resolves on the ack; rejects with a ChatError when refused
   * (`rate_limited` carries `retryAfter`) or when the connection is closed first.
   */
  send(text: string, opts: SendOptions = {}): Promise<Ack> {
    if (this.state === "closed") return Promise.reject(new ChatError("closed", "connection is closed"));
    const clientId = opts.clientId ?? newClientId();
    const existing = this.outbox.get(clientId);
    if (existing) return existing.promise;
    if (!opts.attachments?.length) {
      const checked = checkText(text, Number.MAX_SAFE_INTEGER);
      if (!checked.ok) return Promise.reject(new ChatError("bad_request", checked.message));
    }
    const record: OutboxRecord = { clientId, text, createdAt: new Date().toISOString() };
    if (opts.replyTo) record.replyTo = opts.replyTo;
    if (opts.attachments?.length) record.attachments = opts.attachments;
    // The server closes the socket on an oversized frame; resending it after every reconnect
    // would loop forever, so refuse it here.
    if (new TextEncoder().encode(frameOf(record)).byteLength > MAX_FRAME_BYTES) {
      return Promise.reject(new ChatError("too_large", "message is too large"));
    }
    const entry = this.entry(record);
    this.outbox.add(entry);
    this.typingIndicator.stop();
    this.showPending(entry);
    if (this.ready) this.ws.send(frameOf(entry));
    return entry.promise;
  }

  /** Sends a refused message again (same clientId); its promise is new. */
  retry(clientId: string): Promise<Ack> {
    const p = this.timeline.pending(clientId);
    if (!p?.error) return Promise.reject(new ChatError("bad_request", "no refused send with that clientId"));
    this.timeline.removePending(clientId);
    return this.send(p.text, { clientId, replyTo: p.replyTo, attachments: p.attachments });
  }

  /** Drops a refused send from the timeline. */
  discard(clientId: string): void {
    if (this.timeline.pending(clientId)?.error && this.timeline.removePending(clientId)) this.changed();
  }

  /** Sends not yet acknowledged, oldest first. */
  pending(): PendingSend[] {
    return this.outbox.list().map(({ clientId, text, replyTo, attachments }) => ({ clientId, text, replyTo, attachments }));
  }
  isPending(clientId: string): boolean {
    return this.outbox.has(clientId);
  }
  /** Resolves once the outbox's changes so far are in its store (IndexedDB in a browser). */
  outboxSaved(): Promise<void> {
    return this.outbox.flushed();
  }

  // ---- Reading ----

  /** The list to show: messages in seq order, then pending sends. */
  messages(): TimelineEntry[] {
    return this.timeline.entries();
  }

  /** Whether older history than what `messages()` holds may exist. */
  get hasOlder(): boolean {
    return this.nextBefore !== null;
  }

  /** Loads the page of history before the oldest message held (into `messages()`, and the `older` event). */
  loadOlder(limit = 50): Promise<Message[]> {
    return (this.loadingOlder ??= this.fetchOlder(limit).finally(() => (this.loadingOlder = null)));
  }

  /** Highest seq delivered contiguously; resync starts after it. */
  get lastContiguousSeq(): number | null {
    return this.sequencer.lastSeq;
  }

  /** Who is online here (the welcome lists at most 100; `ChatClient.roomPresence` has everyone). */
  onlineUsers(): OnlineUser[] {
    return this.people.onlineUsers();
  }
  /** How many are online, including those beyond the first 100. */
  get onlineCount(): number {
    return this.people.onlineCount;
  }
  /** Who else is typing right now. */
  typingUsers(): UserRef[] {
    return this.people.typingUsers();
  }
  /** The user this connection speaks for, once welcomed. */
  get me(): Identity | null {
    return this.you;
  }

  // ---- Other frames ----

  /** Raw typing frame; ephemeral, so dropped while disconnected. Prefer `typingIndicator`. */
  typing(on: boolean): void {
    this.sendNow({ type: "typing", on });
  }
  /** Remembered and restated after a reconnect, since a new socket starts as online. */
  setStatus(status: "online" | "away"): void {
    this.status = status;
    this.sendNow({ type: "presence", status });
  }
  /** Read up to `seq` (only ever forward; over REST while the socket is down). */
  markRead(seq: number): void {
    if (seq <= this.lastReadSent) return;
    this.lastReadSent = seq;
    if (!this.sendNow({ type: "read", seq })) void this.api.markRead(this.roomId, seq).catch(() => (this.lastReadSent = 0));
  }
  /** Read up to the newest message delivered. */
  markAllRead(): void {
    const seq = this.sequencer.lastSeq;
    if (seq) this.markRead(seq);
  }
  /** Turns this user's reaction on a message on or off (one per user: a new emoji replaces the old). */
  react(id: string, emoji: string, on = true): Promise<void> {
    return this.change({ type: "react", id, emoji, on }, () => this.api.setReaction(this.roomId, id, emoji, on));
  }
  edit(id: string, text: string): Promise<void> {
    return this.change({ type: "edit", id, text }, () => this.api.editMessage(this.roomId, id, text));
  }
  delete(id: string): Promise<void> {
    return this.change({ type: "delete", id }, () => this.api.deleteMessage(this.roomId, id));
  }

  /** Drops the socket and connects again. */
  reconnect(): void {
    this.ws.reconnect();
  }

  /**
   * Closes the socket for good. Unacknowledged sends reject with `closed` but stay in the
   * stored outbox: they go out the next time this room is opened (in this page or after a reload).
   */
  close(): void {
    if (this.state === "closed") return;
    this.setState("closed");
    this.ws.close();
    for (const e of this.outbox.forget()) e.reject(new ChatError("closed", "connection closed"));
  }

  // ---- internals ----

  /** Welcomed on an open socket, with the stored outbox read: sends go straight out. */
  private get ready(): boolean {
    return this.welcomed && this.restored && this.ws.isOpen;
  }

  /** Only while welcomed: the socket would otherwise drop it, and the outbox resends what matters. */
  private sendNow(frame: ClientFrame): boolean {
    return this.welcomed && this.ws.send(frame);
  }

  /** An edit, delete or reaction: on the socket when open (the `updated` frame follows), else over REST. */
  private async change(frame: ClientFrame, viaRest: () => Promise<Message>): Promise<void> {
    if (this.sendNow(frame)) return;
    const message = await viaRest();
    this.timeline.update(message);
    this.events.emit("updated", message);
    this.changed();
  }

  private entry(record: OutboxRecord): Entry {
    let resolve!: Entry["resolve"];
    let reject!: Entry["reject"];
    const promise = new Promise<Ack>((res, rej) => ((resolve = res), (reject = rej)));
    return { ...record, promise, resolve, reject };
  }

  private showPending(e: Entry): void {
    const author = this.you ? { id: this.you.id, name: this.you.name } : null;
    const p: PendingMessage = { pending: true, clientId: e.clientId, roomId: this.roomId, text: e.text, author, createdAt: e.createdAt };
    if (e.replyTo) p.replyTo = e.replyTo;
    if (e.attachments) p.attachments = e.attachments;
    this.timeline.addPending(p);
    this.events.emit("pending", p);
    this.changed();
  }

  private flushOutbox(): void {
    if (!this.ready) return;
    for (const e of this.outbox.list()) this.ws.send(frameOf(e));
  }

  private settle(ack: Ack): void {
    const e = this.outbox.remove(ack.clientId);
    if (!e) return;
    this.events.emit("ack", ack);
    e.resolve(ack);
  }

  private refuse(clientId: string, err: ChatError): void {
    const e = this.outbox.remove(clientId);
    const p = this.timeline.failPending(clientId, err);
    if (p) {
      this.events.emit("failed", p, err);
      this.changed();
    }
    e?.reject(err);
  }

  /** Coalesced: a page of 200 synced messages is one re-render, not 200. */
  private changed(): void {
    if (this.changeQueued) return;
    this.changeQueued = true;
    queueMicrotask(() => {
      this.changeQueued = false;
      this.events.emit("change");
    });
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.events.emit("state", state);
  }

  private onClose(refused: boolean): void {
    this.welcomed = false;
    this.sequencer.socketClosed();
    this.setState(this.everWelcomed ? "reconnecting" : "connecting");
    // A browser cannot see why an upgrade failed; the REST API says whether we may enter.
    if (refused) {
      this.api.history(this.roomId, { limit: 1 }).catch((err: unknown) => {
        if (err instanceof ChatError && ["unauthorized", "forbidden", "not_found"].includes(err.code)) this.end(err);
      });
    }
  }

  /** The connection cannot go on: sends that can never go out are refused and forgotten. */
  private end(err: ChatError): void {
    if (this.state === "closed") return;
    this.setState("closed");
    this.ws.close();
    const never = err.code === "forbidden" || err.code === "not_found";
    for (const e of never ? this.outbox.clear() : this.outbox.forget()) e.reject(err);
    this.events.emit("error", { type: "error", code: err.code === "network" || err.code === "closed" ? "internal" : err.code, message: err.message });
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "welcome":
        return this.onWelcome(frame);
      case "message":
        return this.sequencer.ingest([frame.message]);
      case "sync":
        this.sequencer.synced(frame);
        return this.events.emit("sync", frame);
      case "ack":
        return this.settle(frame);
      case "error":
        if (frame.clientId !== undefined && this.outbox.has(frame.clientId)) {
          return this.refuse(frame.clientId, new ChatError(frame.code, frame.message, undefined, frame.retryAfter));
        }
        return this.events.emit("error", frame);
      case "updated":
        this.timeline.update(frame.message);
        this.events.emit("updated", frame.message);
        return this.changed();
      case "typing":
        this.people.typing(frame);
        return this.events.emit("typing", frame);
      case "presence":
        this.people.presence(frame);
        return this.events.emit("presence", frame);
      case "read":
        return this.events.emit("read", frame);
      case "topics":
        return this.events.emit("topics", frame);
      default:
        return;
    }
  }

  private onWelcome(frame: FrameOf<"welcome">): void {
    const reconnect = this.everWelcomed;
    this.welcomed = true;
    this.everWelcomed = true;
    this.you = frame.you;
    this.timeline.me = frame.you.id;
    this.knowYou(frame.you.id);
    this.people.welcome(frame);
    if (this.nextBefore === undefined) {
      const first = frame.recent[0]?.seq ?? frame.lastSeq + 1;
      this.nextBefore = first > 1 ? first : null;
    }
    this.setState("open");
    this.events.emit("welcome", frame, reconnect);
    this.sequencer.welcome(frame);
    if (this.status === "away") this.sendNow({ type: "presence", status: "away" });
    this.flushOutbox();
  }

  /**
   * A message in seq order, once. Our own copy replaces its pending entry in the timeline, but
   * the send stays unacknowledged (`isPending`) until its ack: the ack is the promise.
   */
  private deliver(m: Message): void {
    this.timeline.put([m]);
    this.people.spoke(m.author.id);
    this.events.emit("message", m);
    this.changed();
  }

  private async fetchOlder(limit: number): Promise<Message[]> {
    if (this.nextBefore === null) return [];
    const before = this.nextBefore ?? this.timeline.firstSeq ?? undefined;
    const page = await this.api.history(this.roomId, { before, limit });
    this.timeline.put(page.messages);
    this.nextBefore = page.nextBefore;
    this.events.emit("older", page.messages);
    this.changed();
    return page.messages;
  }
}

function frameOf(e: OutboxRecord): string {
  const frame: ClientFrame = { type: "send", clientId: e.clientId, text: e.text };
  if (e.replyTo) frame.replyTo = e.replyTo;
  if (e.attachments?.length) frame.attachments = e.attachments;
  return JSON.stringify(frame);
}
