/**
 * One Durable Object per user: the user's device sockets (/parties/user/:userId), the
 * notifications and unread counts sent to all of them, and the user's global presence. The
 * handlers check what arrives and delegate to the modules beside this file.
 */
import { echoClose } from "../lib/close";
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config";
import type { Bindings } from "../env";
import { log } from "../lib/log";
import { MAX_FRAME_BYTES, PING, PONG, parseUserFrame, type Notification, type NotificationKind, type PresenceStatus, type ServerFrame } from "../protocol";
import { readUpgrade } from "../room/handoff";
import { Delivered } from "./delivered";
import { EmailLedger, type SlotVerdict } from "./emails";
import { Devices } from "./devices";
import { Presence, writePresence } from "./presence";
import { unreadCounts, watchRooms } from "./unread";

/** Notifications that can be the first sign of a room the user is in: its reports start then. */
const JOINING = new Set<NotificationKind>(["added", "dm"]);

export class User extends DurableObject<Bindings> {
  private readonly devices: Devices;
  private readonly presence: Presence;
  private readonly delivered: Delivered;
  private readonly emails: EmailLedger;
  private readonly maxDevices: number;
  private userId: string | null = null;
  /** Rooms told to report since the first device connected, beyond those it started with. */
  private readonly joined = new Set<string>();

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.devices = new Devices(ctx);
    this.presence = new Presence(ctx.storage.sql);
    this.delivered = new Delivered(ctx.storage.sql);
    this.emails = new EmailLedger(ctx.storage.sql);
    this.maxDevices = readConfig(env).maxUserSockets;
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    void ctx.blockConcurrencyWhile(async () => {
      this.userId = (await ctx.storage.get<string>("userId")) ?? null;
    });
  }

  // ---- Sockets ---------------------------------------------------------------------------

  async fetch(request: Request): Promise<Response> {
    const upgrade = readUpgrade(request);
    if (upgrade === null || request.headers.get("upgrade") !== "websocket") {
      return new Response("expected a verified websocket upgrade", { status: 426 });
    }
    // The Worker routes only a user's own id here; this is the object's name.
    const userId = upgrade.roomId;
    if (upgrade.user.id !== userId) return new Response("not your user socket", { status: 403 });
    await this.bind(userId);
    const { 0: client, 1: server } = new WebSocketPair();
    while (this.devices.size >= this.maxDevices) {
      const oldest = this.devices.oldest()!;
      log.info({ msg: "user socket closed: over the device cap", userId });
      try {
        oldest.close(4008, `more than ${this.maxDevices} user sockets: closing the oldest`);
      } catch {
        // already closing
      }
      this.devices.remove(oldest);
    }
    const first = this.devices.size === 0;
    this.devices.add(server, upgrade.requestId);
    this.presenceChanged();
    if (first) this.ctx.waitUntil(this.startUnread(userId));
    else this.ctx.waitUntil(this.sendUnread(userId, server));
    return new Response(null, { status: 101, webSocket: client });
  }

  async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    if (typeof data !== "string") return this.send(ws, { type: "error", code: "bad_request", message: "frames must be text (JSON)" });
    if (data.length > MAX_FRAME_BYTES) return ws.close(1009, "frame larger than 64 KiB");
    const parsed = parseUserFrame(data);
    if (!parsed.ok) return this.send(ws, { type: "error", code: parsed.code, message: parsed.message });
    const frame = parsed.frame;
    if (frame.type === "ping") return ws.send(PONG);
    this.devices.setStatus(ws, frame.status);
    this.presenceChanged();
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.leave(ws);
    echoClose(ws, code, reason);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    this.leave(ws);
  }

  // ---- RPC ---------------------------------------------------------------------------------

  /** Gives a notification to every device, once per id however often it is handed over. */
  async deliver(userId: string, notification: Notification): Promise<{ devices: number }> {
    await this.bind(userId);
    if (!this.delivered.first(notification.id)) return { devices: 0 };
    this.devices.broadcast(JSON.stringify({ type: "notification", notification } satisfies ServerFrame));
    // A room joined while a device is connected (added to a group, or a new direct room's first
    // message) reports its unread count from now on too, starting with the current one.
    const roomId = notification.roomId;
    if (roomId !== null && JOINING.has(notification.kind) && this.devices.size > 0 && !this.joined.has(roomId)) {
      this.joined.add(roomId);
      this.ctx.waitUntil(watchRooms(this.env, userId, [roomId], true, true));
    }
    return { devices: this.devices.size };
  }

  /** A room's unread count for this user changed. False when no device listens (the room stops reporting). */
  async unread(userId: string, roomId: string, count: number): Promise<boolean> {
    await this.bind(userId);
    if (this.devices.size === 0) return false;
    this.devices.broadcast(JSON.stringify({ type: "unread", roomId, count } satisfies ServerFrame));
    return true;
  }

  /** A room's report of this user's status in it. */
  async roomPresence(userId: string, roomId: string, status: PresenceStatus): Promise<void> {
    await this.bind(userId);
    this.presence.setRoom(roomId, status);
    this.presenceChanged();
  }

  /** Whether the user has any socket open anywhere (instant email waits for this to be false). */
  async connected(userId: string): Promise<boolean> {
    await this.bind(userId);
    return this.presence.connected(this.devices.status());
  }

  /** Account erasure: the devices close and nothing the object kept about the user stays. */
  async erase(userId: string): Promise<void> {
    await this.bind(userId);
    for (const ws of this.devices.sockets()) {
      try {
        ws.close(1008, "account erased");
      } catch {
        // already closing
      }
      this.devices.remove(ws);
    }
    this.presence.clear();
    this.delivered.clear();
    this.emails.clear();
    await this.ctx.storage.delete("userId");
    this.userId = null;
  }

  /**
   * Whether an instant email for this notification may go now: not while the user has a socket
   * open anywhere, not twice, and at most one per room per 10 minutes.
   */
  async claimEmail(userId: string, roomKey: string, notificationId: string): Promise<SlotVerdict | "connected"> {
    await this.bind(userId);
    if (this.presence.connected(this.devices.status())) return "connected";
    return this.emails.claim(roomKey, notificationId);
  }

  /** Whether an email (instant or digest) with this id was sent already. */
  async emailSent(userId: string, id: string): Promise<boolean> {
    await this.bind(userId);
    return this.emails.isSent(id);
  }

  async markEmailSent(userId: string, id: string): Promise<void> {
    await this.bind(userId);
    this.emails.sent(id);
  }

  // ---- Helpers -----------------------------------------------------------------------------

  private leave(ws: WebSocket): void {
    if (!this.devices.remove(ws)) return;
    this.presenceChanged();
    if (this.devices.size === 0 && this.userId !== null) this.ctx.waitUntil(this.stopUnread(this.userId));
  }

  private presenceChanged(): void {
    const status = this.presence.changed(this.devices.status());
    if (status === null || this.userId === null) return;
    const userId = this.userId;
    this.ctx.waitUntil(
      writePresence(this.env.DB, userId, status).catch((error) => log.warn({ msg: "could not write presence", userId, error })),
    );
  }

  /** First device: current counts to it, and the rooms start reporting changes. */
  private async startUnread(userId: string): Promise<void> {
    const counts = await unreadCounts(this.env.DB, userId);
    for (const { roomId, count } of counts) this.devices.broadcast(JSON.stringify({ type: "unread", roomId, count } satisfies ServerFrame));
    await watchRooms(this.env, userId, counts.map((c) => c.roomId), true);
  }

  /** Another device: the current counts to it alone (the rooms already report). */
  private async sendUnread(userId: string, ws: WebSocket): Promise<void> {
    for (const { roomId, count } of await unreadCounts(this.env.DB, userId)) this.send(ws, { type: "unread", roomId, count });
  }

  private async stopUnread(userId: string): Promise<void> {
    this.joined.clear();
    const counts = await unreadCounts(this.env.DB, userId);
    await watchRooms(this.env, userId, counts.map((c) => c.roomId), false);
  }

  private send(ws: WebSocket, frame: ServerFrame): void {
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      // closing
    }
  }

  /** Remembers whose object this is (its name), for what it does without a caller. */
  private async bind(userId: string): Promise<void> {
    if (this.userId === userId) return;
    if (this.userId !== null) throw new Error(`user object for ${this.userId} asked to serve ${userId}`);
    this.userId = userId;
    await this.ctx.storage.put("userId", userId);
  }
}

/** The user's object. */
export const userStub = (env: Bindings, userId: string) => env.USER.get(env.USER.idFromName(userId));
