/**
 * One Durable Object per room: its sockets, presence and typing, the per-room `seq`, the
 * messages (stored here before anyone hears of them) and the flush to D1. The handlers
 * below stay thin and delegate to the modules beside this file.
 */
import { DurableObject } from "cloudflare:workers";
import { readConfig, type Config } from "../config";
import type { Bindings } from "../env";
import {
  MAX_FRAME_BYTES,
  PING,
  PONG,
  RECENT_ON_WELCOME,
  SYNC_PAGE,
  checkText,
  parseClientFrame,
  type ClientFrame,
  type ErrorCode,
  type Identity,
  type Message,
  type OnlineUser,
  type SendInput,
} from "../protocol";
import { Archive } from "./archive";
import { Connections } from "./connections";
import { Flusher } from "./flusher";
import { readUpgrade } from "./handoff";
import { History } from "./history";
import { Outbox } from "./outbox";
import { MessageStore } from "./store";
import { Typing } from "./typing";

export type RoomResult<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

const fail = (code: ErrorCode, message: string) => ({ ok: false, code, message }) as const;

export class Room extends DurableObject<Bindings> {
  private readonly config: Config;
  private readonly store: MessageStore;
  private readonly history: History;
  private readonly flusher: Flusher;
  private readonly connections: Connections;
  private readonly outbox: Outbox;
  private readonly typing: Typing;
  private roomId: string | null;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.config = readConfig(env);
    this.store = new MessageStore(ctx.storage);
    const archive = new Archive(env.DB);
    this.history = new History(this.store, archive);
    this.flusher = new Flusher(ctx.storage, this.store, archive, {
      intervalMs: this.config.flushIntervalMs,
      batchRows: this.config.flushBatchRows,
      retainLocal: this.config.retainLocalMessages,
    });
    this.connections = new Connections(ctx);
    this.outbox = new Outbox({ sockets: () => this.connections.sockets() });
    this.typing = new Typing((userId) => this.broadcastTyping(userId, false));
    this.roomId = this.store.getMeta("roomId");
    // Heartbeats are answered by the runtime without waking a hibernated room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    void ctx.blockConcurrencyWhile(() => this.flusher.init());
  }

  // ---- Sockets ---------------------------------------------------------------------------

  async fetch(request: Request): Promise<Response> {
    const upgrade = readUpgrade(request);
    if (upgrade === null || request.headers.get("upgrade") !== "websocket") {
      return new Response("expected a verified websocket upgrade", { status: 426 });
    }
    const roomId = this.bind(upgrade.roomId);
    const recent = await this.recentMessages(roomId);

    const { 0: client, 1: server } = new WebSocketPair();
    // Frames already queued predate this socket; send them before it joins the room.
    this.outbox.flush();
    const before = this.connections.statusOf(upgrade.user.id);
    this.connections.add(server, upgrade.user);
    this.outbox.sendTo(server, {
      type: "welcome",
      room: { id: roomId },
      you: upgrade.user,
      lastSeq: this.store.lastSeq,
      online: this.connections.online(),
      recent,
    });
    if (before !== "online") this.broadcastPresence(upgrade.user, "online", (ws) => ws === server);
    return new Response(null, { status: 101, webSocket: client });
  }

  async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const user = this.connections.get(ws);
    if (!user || this.roomId === null) return ws.close(1011, "unknown connection");
    if (frameBytes(data) > MAX_FRAME_BYTES) return ws.close(1009, "frame larger than 64 KiB");
    if (typeof data !== "string") {
      return this.outbox.sendTo(ws, { type: "error", code: "bad_request", message: "frames must be text (JSON)" });
    }
    const parsed = parseClientFrame(data);
    if (!parsed.ok) {
      const { code, message, clientId } = parsed;
      return this.outbox.sendTo(ws, { type: "error", code, message, ...(clientId ? { clientId } : {}) });
    }
    await this.onFrame(ws, user, parsed.frame);
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.leave(ws);
    try {
      ws.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    this.leave(ws);
  }

  // ---- Flush -----------------------------------------------------------------------------

  async alarm(info?: AlarmInvocationInfo): Promise<void> {
    await this.flusher.onAlarm(this.roomId, info?.retryCount ?? 0);
  }

  // ---- RPC from the Worker's REST routes ---------------------------------------------------

  async postMessage(
    roomId: string,
    user: Identity,
    input: SendInput,
  ): Promise<RoomResult<{ message: Message; created: boolean }>> {
    return this.post(this.bind(roomId), user, input);
  }

  async getMessages(roomId: string, limit: number, before?: number) {
    return this.history.page(this.bind(roomId), limit, before);
  }

  async getPresence(roomId: string): Promise<OnlineUser[]> {
    this.bind(roomId);
    return this.connections.online();
  }

  // ---- Behaviour ---------------------------------------------------------------------------

  private async onFrame(ws: WebSocket, user: Identity, frame: ClientFrame): Promise<void> {
    const roomId = this.roomId!;
    switch (frame.type) {
      case "send": {
        const result = await this.post(roomId, user, frame);
        if (!result.ok) {
          const { code, message } = result;
          return this.outbox.sendTo(ws, { type: "error", code, message, clientId: frame.clientId });
        }
        const { id, seq, createdAt } = result.value.message;
        return this.outbox.sendTo(ws, { type: "ack", clientId: frame.clientId, id, seq, createdAt });
      }
      case "sync": {
        const { messages, more } = await this.history.after(roomId, frame.after, SYNC_PAGE);
        return this.outbox.sendTo(ws, { type: "sync", messages, more });
      }
      case "typing":
        if (frame.on) {
          const wasTyping = this.typing.isTyping(user.id);
          this.typing.start(user.id);
          if (!wasTyping) this.broadcastTyping(user.id, true);
        } else if (this.typing.stop(user.id)) {
          this.broadcastTyping(user.id, false);
        }
        return;
      case "presence": {
        const before = this.connections.statusOf(user.id);
        this.connections.setStatus(user.id, frame.status);
        if (before !== frame.status) this.broadcastPresence(user, frame.status);
        return;
      }
      case "ping":
        return ws.send(PONG);
      case "read":
      case "edit":
      case "delete":
      case "react":
        return this.outbox.sendTo(ws, {
          type: "error",
          code: "bad_request",
          message: `'${frame.type}' is not supported by this server yet`,
        });
    }
  }

  private async post(
    roomId: string,
    user: Identity,
    input: SendInput,
  ): Promise<RoomResult<{ message: Message; created: boolean }>> {
    const text = checkText(input.text, this.config.maxTextLength);
    if (!text.ok) return fail("bad_request", text.message);

    const earlier = await this.earlierSend(roomId, user.id, input.clientId);
    if (earlier) return { ok: true, value: { message: earlier, created: false } };

    let replyTo: Message["replyTo"] = null;
    if (input.replyTo) {
      const target = await this.history.byId(roomId, input.replyTo);
      if (!target) return fail("bad_request", "replyTo: no such message in this room");
      replyTo = { id: target.id, author: target.author, excerpt: target.deletedAt ? "" : target.text.slice(0, 140) };
      // The lookup may have let a resend of the same clientId in first.
      const raced = await this.earlierSend(roomId, user.id, input.clientId);
      if (raced) return { ok: true, value: { message: raced, created: false } };
    }

    const message = this.store.insert(roomId, {
      clientId: input.clientId,
      author: { id: user.id, name: user.name },
      text: text.text,
      replyTo,
    });
    this.flusher.schedule();
    if (this.typing.stop(user.id)) this.broadcastTyping(user.id, false, user.name);
    this.outbox.broadcast({ type: "message", message });
    return { ok: true, value: { message, created: true } };
  }

  private async earlierSend(roomId: string, userId: string, clientId: string): Promise<Message | null> {
    const seq = this.store.seqForClientId(userId, clientId);
    if (seq === null) return null;
    return (await this.history.range(roomId, seq, seq))[0] ?? null;
  }

  /** The newest messages for `welcome`, consistent with `lastSeq` at the moment of joining. */
  private async recentMessages(roomId: string): Promise<Message[]> {
    for (;;) {
      const last = this.store.lastSeq;
      const recent = await this.history.range(roomId, last - RECENT_ON_WELCOME + 1, last);
      if (this.store.lastSeq === last) return recent;
    }
  }

  private leave(ws: WebSocket): void {
    const user = this.connections.get(ws);
    if (!user) return;
    const before = this.connections.statusOf(user.id);
    this.connections.remove(ws);
    const status = this.connections.statusOf(user.id);
    if (status === "offline" && this.typing.stop(user.id)) this.broadcastTyping(user.id, false, user.name);
    if (status !== before) this.broadcastPresence(user, status);
  }

  private broadcastTyping(userId: string, on: boolean, name?: string): void {
    name ??= this.connections.socketsOf(userId).map((ws) => this.connections.get(ws)!.name)[0] ?? userId;
    this.outbox.broadcast({ type: "typing", userId, name, on }, (ws) => this.connections.get(ws)?.id === userId);
  }

  private broadcastPresence(user: Identity, status: "online" | "away" | "offline", except?: (ws: WebSocket) => boolean) {
    this.outbox.broadcast({ type: "presence", userId: user.id, name: user.name, status }, except);
  }

  /** Remembers which room this object serves; its id is the room's name. */
  private bind(roomId: string): string {
    if (this.roomId === null) {
      this.store.setMeta("roomId", roomId);
      this.roomId = roomId;
    } else if (this.roomId !== roomId) {
      throw new Error(`room object for ${this.roomId} asked to serve ${roomId}`);
    }
    return roomId;
  }
}

function frameBytes(data: string | ArrayBuffer): number {
  if (typeof data !== "string") return data.byteLength;
  // UTF-8 never takes fewer bytes than UTF-16 code units, nor more than three per unit.
  if (data.length > MAX_FRAME_BYTES) return data.length;
  if (data.length * 3 <= MAX_FRAME_BYTES) return data.length;
  return new TextEncoder().encode(data).byteLength;
}
