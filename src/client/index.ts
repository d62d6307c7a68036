/**
 * The typed client for browsers and Node: a REST helper (`ChatClient`) and a room socket
 * (`RoomConnection`) that survives reconnects without losing or duplicating anything:
 * unacknowledged sends are kept and resent with their original clientId (the server answers
 * a repeated clientId with the first ack), and messages are delivered once each, in seq
 * order, with gaps filled by `sync`. The socket is opened with a single-use ticket fetched just
 * before each (re)connect (`POST /api/auth/ticket`), so the token itself never appears in a URL.
 */
import PartySocket from "partysocket";
import {
  MAX_FRAME_BYTES,
  codeForStatus,
  PING,
  PONG,
  unwrapFrame,
  type ClientFrame,
  type ErrorBody,
  type ErrorCode,
  type Identity,
  type Message,
  type ServerFrame,
  type ServiceRole,
  type AttachmentRef,
  type Topic,
  type UserRef,
} from "../protocol";

export type { Message, ServerFrame, Identity, AttachmentRef, Topic };
export type FrameOf<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

/** Codes from the contract plus the two that only the client produces. */
export type ClientErrorCode = ErrorCode | "network" | "closed";

export class ChatError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly status?: number,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "ChatError";
  }
}

/** A random id for a send; random rather than a counter so two tabs never collide. */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return "c-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- REST ------------------------------------------------------------------------------

export interface Session {
  token: string;
  user: Identity;
}
export interface HistoryPage {
  messages: Message[];
  nextBefore: number | null;
}
export interface RoomSummary {
  id: string;
  kind: "community" | "group" | "direct" | "visitor";
  title: string | null;
  role?: string;
  lastMessage?: Message | null;
  unread?: number;
}
export interface SearchPage {
  results: { message: Message; snippet: string }[];
  nextBefore: string | null;
}

export interface RoomDetails {
  room: RoomSummary;
  members: { id: string; name: string; role: string }[];
}


async function request<T>(url: string, init: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new ChatError("network", err instanceof Error ? err.message : String(err));
  }
  if (res.ok) return (res.status === 204 ? undefined : await res.json()) as T;
  const body: unknown = await res.json().catch(() => null);
  const error = isErrorBody(body) ? body.error : null;
  const retryAfter = Number(res.headers.get("Retry-After")) || undefined;
  throw new ChatError(
    error?.code ?? codeForStatus(res.status),
    error?.message ?? `HTTP ${res.status}`,
    res.status,
    retryAfter,
  );
}

function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== "object" || body === null || !("error" in body)) return false;
  const { error } = body;
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string";
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/** `POST /api/auth/dev`: only answers where dev mode is on. */
export function devLogin(baseUrl: string, userId: string, name: string, roles?: ServiceRole[]): Promise<Session> {
  return request<Session>(new URL("/api/auth/dev", baseUrl).href, json(roles ? { userId, name, roles } : { userId, name }));
}

export interface SocketTicket {
  ticket: string;
  /** ISO time; a ticket opens one socket before then. */
  expiresAt: string;
}

/** `POST /api/auth/ticket`: a single-use ticket for one socket, valid for 60 s. */
export function socketTicket(baseUrl: string, token: string): Promise<SocketTicket> {
  return request<SocketTicket>(new URL("/api/auth/ticket", baseUrl).href, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
}

export interface ChatClientOptions {
  /** Origin of the Worker, e.g. `location.origin` or `http://127.0.0.1:8787`. */
  baseUrl: string;
  token: string;
  /** A WebSocket constructor where there is no global one (Node 20: `ws`). */
  WebSocket?: WebSocketConstructor;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object;

export class ChatClient {
  constructor(readonly options: ChatClientOptions) {}

  private url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const url = new URL(path, this.options.baseUrl);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.href;
  }
  private get auth() {
    return { authorization: `Bearer ${this.options.token}` };
  }

  rooms(): Promise<{ rooms: RoomSummary[] }> {
    return request(this.url("/api/rooms"), { headers: this.auth });
  }
  roomDetails(roomId: string): Promise<RoomDetails> {
    return request(this.url(`/api/rooms/${encodeURIComponent(roomId)}`), { headers: this.auth });
  }
  createGroup(title: string, members: string[]): Promise<{ room: RoomSummary }> {
    return request(this.url("/api/rooms/group"), json({ title, members }, this.auth));
  }
  /** Older messages, ascending; pass the page's `nextBefore` as the next `before`. */
  history(roomId: string, page: { before?: number; limit?: number } = {}): Promise<HistoryPage> {
    const path = `/api/rooms/${encodeURIComponent(roomId)}/messages`;
    return request(this.url(path, page), { headers: this.auth });
  }
  async postMessage(
    roomId: string,
    input: { text: string; clientId?: string; replyTo?: string },
  ): Promise<Message> {
    const path = `/api/rooms/${encodeURIComponent(roomId)}/messages`;
    const body = { clientId: input.clientId ?? newClientId(), text: input.text, replyTo: input.replyTo };
    const res = await request<{ message: Message }>(this.url(path), json(body, this.auth));
    return res.message;
  }

  /** Uploads a file to a room; name its `id` in a send's `attachments`. */
  async upload(roomId: string, file: Blob, name: string): Promise<AttachmentRef> {
    const path = `/api/rooms/${encodeURIComponent(roomId)}/attachments`;
    const init = { method: "POST", body: file, headers: { ...this.auth, "content-type": file.type || "application/octet-stream" } };
    return (await request<{ attachment: AttachmentRef }>(this.url(path, { name }), init)).attachment;
  }
  /** Full-text search over the caller's rooms; `snippet` is escaped HTML with `<mark>` around hits. */
  search(q: string, opts: { roomId?: string; limit?: number; before?: string } = {}): Promise<SearchPage> {
    return request(this.url("/api/search", { q, ...opts }), { headers: this.auth });
  }
  /** Archives a room for this user alone (false: brings it back). */
  async archive(roomId: string, archived = true): Promise<void> {
    const path = `/api/rooms/${encodeURIComponent(roomId)}/archive`;
    await request(this.url(path), { method: archived ? "PUT" : "DELETE", headers: this.auth });
  }
  /** Who other than its author has read a message. */
  readers(roomId: string, messageId: string): Promise<{ readBy: UserRef[] }> {
    const path = `/api/rooms/${encodeURIComponent(roomId)}/messages/${encodeURIComponent(messageId)}/reads`;
    return request(this.url(path), { headers: this.auth });
  }

  /**
   * The room's trending topics, best first (`limit` 1..50, default 10). Live changes of the top
   * 10 arrive on the room socket as `topics` frames (`RoomConnection.on("topics", …)`).
   */
  topics(roomId: string, limit?: number): Promise<{ topics: Topic[] }> {
    const path = `/api/rooms/${encodeURIComponent(roomId)}/topics`;
    return request(this.url(path, { limit }), { headers: this.auth });
  }

  /** A single-use socket ticket (the room socket fetches its own before every connect). */
  ticket(): Promise<SocketTicket> {
    return socketTicket(this.options.baseUrl, this.options.token);
  }

  /** Opens the room socket; it connects at once and reconnects until `close()`. */
  room(roomId: string): RoomConnection {
    return new RoomConnection({ ...this.options, roomId });
  }
}

// ---- The room socket -------------------------------------------------------------------

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface RoomEvents {
  /** Socket state; `open` means welcomed (authorized), not merely TCP-connected. */
  state: (state: ConnectionState) => void;
  /** `reconnect` is false only for the first welcome of this connection object. */
  welcome: (frame: FrameOf<"welcome">, reconnect: boolean) => void;
  /** Each message exactly once, in seq order: from `welcome.recent`, live frames and syncs. */
  message: (message: Message) => void;
  ack: (frame: FrameOf<"ack">) => void;
  updated: (message: Message) => void;
  typing: (frame: FrameOf<"typing">) => void;
  presence: (frame: FrameOf<"presence">) => void;
  read: (frame: FrameOf<"read">) => void;
  /** The room's top 10 topics changed (at most every 10 s). */
  topics: (frame: FrameOf<"topics">) => void;
  sync: (frame: FrameOf<"sync">) => void;
  /**
   * Refused frames that are not a send of ours (those reject the `send` promise instead), and
   * `unauthorized` when the token no longer gets a socket ticket: the connection is then closed.
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

interface OutboxEntry extends PendingSend {
  promise: Promise<FrameOf<"ack">>;
  resolve: (ack: FrameOf<"ack">) => void;
  reject: (err: ChatError) => void;
}

const HEARTBEAT_MS = 25_000;
/** No frame (not even a pong) for this long means a dead connection the OS has not noticed. */
const SILENCE_LIMIT_MS = 60_000;

export class RoomConnection {
  readonly roomId: string;
  private readonly ws: PartySocket;
  private readonly listeners: { [K in keyof RoomEvents]?: Set<RoomEvents[K]> } = {};
  private readonly outbox = new Map<string, OutboxEntry>();
  private readonly ahead = new Map<number, Message>();
  /** Highest seq delivered with nothing missing below it; null until the first welcome. */
  private lastSeq: number | null = null;
  private syncing = false;
  private welcomed = false;
  private status: "online" | "away" = "online";
  private lastFrameAt = Date.now();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  state: ConnectionState = "connecting";

  constructor(options: ChatClientOptions & { roomId: string }) {
    this.roomId = options.roomId;
    const base = new URL(options.baseUrl);
    this.ws = new PartySocket({
      host: base.host,
      protocol: base.protocol === "https:" ? "wss" : "ws",
      party: "room",
      room: options.roomId,
      // Called before every connect and reconnect: a fresh single-use ticket each time.
      query: () => this.freshTicket(options),
      WebSocket: options.WebSocket,
      // Quick first retry with jitter so a restarted server is not hit by every tab at once.
      minReconnectionDelay: 300 + Math.random() * 1200,
      maxReconnectionDelay: 10_000,
    });
    this.ws.addEventListener("open", () => this.onOpen());
    this.ws.addEventListener("close", () => this.onClose());
    this.ws.addEventListener("message", (e) => {
      if (typeof e.data === "string") this.onRaw(e.data);
    });
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
  }

  on<K extends keyof RoomEvents>(event: K, fn: RoomEvents[K]): () => void {
    const listeners: { [E in K]?: Set<RoomEvents[E]> } = this.listeners;
    const set: Set<RoomEvents[K]> = listeners[event] ?? new Set();
    listeners[event] = set;
    set.add(fn);
    return () => void set.delete(fn);
  }

  /** Sends a message; resolves on its ack, rejects on a refusal. Survives reconnects. */
  send(text: string, opts: { replyTo?: string; clientId?: string; attachments?: string[] } = {}): Promise<FrameOf<"ack">> {
    const clientId = opts.clientId ?? newClientId();
    if (this.state === "closed") return Promise.reject(new ChatError("closed", "connection is closed"));
    const existing = this.outbox.get(clientId);
    if (existing) return existing.promise;
    const frame = this.sendFrame({ clientId, text, replyTo: opts.replyTo, attachments: opts.attachments });
    // The server closes the socket on an oversized frame; resending it after every reconnect
    // would loop forever, so refuse it here.
    if (new TextEncoder().encode(frame).byteLength > MAX_FRAME_BYTES) {
      return Promise.reject(new ChatError("too_large", "message is too large"));
    }
    let resolve!: OutboxEntry["resolve"];
    let reject!: OutboxEntry["reject"];
    const promise = new Promise<FrameOf<"ack">>((res, rej) => ((resolve = res), (reject = rej)));
    this.outbox.set(clientId, { clientId, text, replyTo: opts.replyTo, attachments: opts.attachments, promise, resolve, reject });
    if (this.isOpen) this.ws.send(frame);
    return promise;
  }

  /** Sends not yet acknowledged, oldest first. */
  pending(): PendingSend[] {
    return [...this.outbox.values()].map(({ clientId, text, replyTo, attachments }) => ({ clientId, text, replyTo, attachments }));
  }
  isPending(clientId: string): boolean {
    return this.outbox.has(clientId);
  }

  /** Ephemeral, so dropped while disconnected. */
  typing(on: boolean): void {
    this.sendNow({ type: "typing", on });
  }
  /** Remembered and restated after a reconnect, since a new socket starts as online. */
  setStatus(status: "online" | "away"): void {
    this.status = status;
    this.sendNow({ type: "presence", status });
  }
  markRead(seq: number): void {
    this.sendNow({ type: "read", seq });
  }
  /** Turns this user's reaction on a message on or off (one per user: a new emoji replaces the old). */
  react(id: string, emoji: string, on = true): void {
    this.sendNow({ type: "react", id, emoji, on });
  }
  edit(id: string, text: string): void {
    this.sendNow({ type: "edit", id, text });
  }
  delete(id: string): void {
    this.sendNow({ type: "delete", id });
  }

  /** Highest seq delivered contiguously; resync starts after it. */
  get lastContiguousSeq(): number | null {
    return this.lastSeq;
  }

  close(): void {
    this.setState("closed");
    clearInterval(this.heartbeat);
    this.ws.close();
    for (const entry of this.outbox.values()) entry.reject(new ChatError("closed", "connection closed"));
    this.outbox.clear();
  }

  // ---- internals ----

  private emit<K extends keyof RoomEvents>(event: K, ...args: Parameters<RoomEvents[K]>): void {
    const set: Set<RoomEvents[K]> | undefined = this.listeners[event];
    for (const fn of set ?? []) {
      try {
        (fn as (...a: Parameters<RoomEvents[K]>) => void)(...args);
      } catch (err) {
        // A throwing listener must not abort delivery mid-batch; surface it as uncaught.
        setTimeout(() => {
          throw err;
        });
      }
    }
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", state);
  }

  private sendFrame(input: PendingSend): string {
    const frame: ClientFrame = { type: "send", clientId: input.clientId, text: input.text };
    if (input.replyTo) frame.replyTo = input.replyTo;
    if (input.attachments?.length) frame.attachments = input.attachments;
    return JSON.stringify(frame);
  }

  /** Welcomed on the current socket; before that the server may still refuse us. */
  private get isOpen(): boolean {
    return this.welcomed && this.ws.readyState === this.ws.OPEN;
  }

  /** Only while open: PartySocket would otherwise queue it, and the outbox already resends. */
  private sendNow(frame: ClientFrame): void {
    if (this.isOpen) this.ws.send(JSON.stringify(frame));
  }

  /**
   * A ticket for the next connect. A refused token ends the connection (retrying cannot help);
   * anything else (network, rate limit, outage) fails this attempt and PartySocket retries with
   * its backoff.
   */
  private async freshTicket(options: ChatClientOptions): Promise<Record<string, string>> {
    try {
      return { ticket: (await socketTicket(options.baseUrl, options.token)).ticket };
    } catch (err) {
      if (err instanceof ChatError && err.code === "unauthorized" && this.state !== "closed") {
        this.emit("error", { type: "error", code: "unauthorized", message: err.message });
        this.close();
      }
      throw err;
    }
  }

  private onOpen(): void {
    this.lastFrameAt = Date.now();
  }

  private onClose(): void {
    this.welcomed = false;
    // A sync in flight died with the socket; the next welcome asks again.
    this.syncing = false;
    if (this.state !== "closed") this.setState(this.lastSeq === null ? "connecting" : "reconnecting");
  }

  private beat(): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (Date.now() - this.lastFrameAt > SILENCE_LIMIT_MS) this.ws.reconnect(4000, "heartbeat timeout");
    else this.ws.send(PING);
  }

  private onRaw(data: string): void {
    this.lastFrameAt = Date.now();
    if (data === PONG) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof parsed !== "object" || parsed === null || !("type" in parsed)) return;
    for (const frame of unwrapFrame(parsed as ServerFrame)) this.onFrame(frame);
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "welcome":
        return this.onWelcome(frame);
      case "message":
        return this.ingest([frame.message]);
      case "sync":
        return this.onSync(frame);
      case "ack": {
        const entry = this.outbox.get(frame.clientId);
        this.outbox.delete(frame.clientId);
        this.emit("ack", frame);
        entry?.resolve(frame);
        return;
      }
      case "error": {
        const entry = frame.clientId === undefined ? undefined : this.outbox.get(frame.clientId);
        if (!entry) return this.emit("error", frame);
        this.outbox.delete(entry.clientId);
        entry.reject(new ChatError(frame.code, frame.message, undefined, frame.retryAfter));
        return;
      }
      case "updated":
        return this.emit("updated", frame.message);
      case "typing":
        return this.emit("typing", frame);
      case "presence":
        return this.emit("presence", frame);
      case "read":
        return this.emit("read", frame);
      case "topics":
        return this.emit("topics", frame);
      case "batch":
        return;
    }
  }

  private onWelcome(frame: FrameOf<"welcome">): void {
    const reconnect = this.lastSeq !== null;
    this.welcomed = true;
    this.setState("open");
    this.emit("welcome", frame, reconnect);
    // First contact: `recent` is the starting point; older history is the REST API's job.
    this.lastSeq ??= (frame.recent[0]?.seq ?? frame.lastSeq + 1) - 1;
    this.ingest(frame.recent);
    // After a reconnect, catch up on whatever was sent while we were away.
    if (!this.syncing && (reconnect || frame.lastSeq > this.lastSeq)) this.requestSync();
    if (this.status === "away") this.sendNow({ type: "presence", status: "away" });
    for (const entry of this.outbox.values()) this.ws.send(this.sendFrame(entry));
  }

  private requestSync(after = this.lastSeq): void {
    if (after === null) return;
    this.syncing = true;
    this.sendNow({ type: "sync", after });
  }

  private onSync(frame: FrameOf<"sync">): void {
    this.ingest(frame.messages);
    this.emit("sync", frame);
    const last = frame.messages.at(-1);
    if (frame.more && last) return this.requestSync(last.seq);
    this.syncing = false;
    // The server had nothing to fill the gap with: it is a real hole, so stop waiting for it
    // rather than hold back everything after it.
    const lowest = Math.min(...this.ahead.keys());
    if (this.lastSeq !== null && Number.isFinite(lowest)) {
      this.lastSeq = lowest - 1;
      this.drain();
    }
  }

  /** Drops what was already delivered, holds what arrives early, delivers in order. */
  private ingest(messages: Message[]): void {
    for (const m of messages) {
      if ((this.lastSeq !== null && m.seq <= this.lastSeq) || this.ahead.has(m.seq)) continue;
      this.ahead.set(m.seq, m);
    }
    this.drain();
    if (this.ahead.size > 0 && !this.syncing) this.requestSync();
  }

  private drain(): void {
    if (this.lastSeq === null) return;
    for (let m = this.ahead.get(this.lastSeq + 1); m; m = this.ahead.get(this.lastSeq + 1)) {
      this.ahead.delete(m.seq);
      this.lastSeq = m.seq;
      this.emit("message", m);
    }
  }
}
