/**
 * The user socket (`/parties/user/:userId`): notifications and unread counts across all of
 * the user's rooms, on every device, and this device's presence. Reconnects like a room
 * socket; there is nothing to catch up on afterwards except what the server sends on connect
 * (the unread counts), and the notification feed over REST.
 */
import type { Notification, ServerFrame } from "../protocol";
import { Emitter } from "./emitter";
import type { ChatError } from "./errors";
import type { FrameOf } from "./room";
import type { RestClient } from "./rest";
import { SocketCore, type ConnectionState } from "./socket";

export interface UserEvents {
  state: (state: ConnectionState) => void;
  /** A DM, a mention, a reply, an invitation, a broadcast. */
  notification: (notification: Notification) => void;
  /** A room's unread count changed (also each room's count after every connect). */
  unread: (frame: FrameOf<"unread">) => void;
  /** A refused frame, or the end of the connection (`unauthorized`, `conflict`). */
  error: (frame: FrameOf<"error">) => void;
}

export class UserConnection {
  readonly userId: string;
  state: ConnectionState = "connecting";
  /** Unread counts by room id, as last reported. */
  readonly unread = new Map<string, number>();
  private readonly events = new Emitter<UserEvents>();
  private readonly ws: SocketCore;
  private status: "online" | "away" = "online";
  private everOpen = false;

  constructor(api: RestClient, userId: string) {
    this.userId = userId;
    this.ws = new SocketCore(api, "user", userId, {
      open: () => this.onOpen(),
      frame: (f) => this.onFrame(f),
      close: () => this.setState(this.everOpen ? "reconnecting" : "connecting"),
      fatal: (err) => this.end(err),
    });
  }

  on<K extends keyof UserEvents>(event: K, fn: UserEvents[K]): () => void {
    return this.events.on(event, fn);
  }

  /** This device's status; remembered and restated after a reconnect. */
  setStatus(status: "online" | "away"): void {
    this.status = status;
    this.ws.send({ type: "presence", status });
  }

  /** The sum of every room's unread count. */
  get totalUnread(): number {
    let total = 0;
    for (const n of this.unread.values()) total += n;
    return total;
  }

  reconnect(): void {
    this.ws.reconnect();
  }

  close(): void {
    if (this.state === "closed") return;
    this.setState("closed");
    this.ws.close();
  }

  private onOpen(): void {
    this.everOpen = true;
    this.setState("open");
    if (this.status === "away") this.ws.send({ type: "presence", status: "away" });
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "notification":
        return this.events.emit("notification", frame.notification);
      case "unread":
        this.unread.set(frame.roomId, frame.count);
        return this.events.emit("unread", frame);
      case "error":
        return this.events.emit("error", frame);
      default:
        return;
    }
  }

  private end(err: ChatError): void {
    if (this.state === "closed") return;
    this.setState("closed");
    this.events.emit("error", { type: "error", code: err.code === "network" || err.code === "closed" ? "internal" : err.code, message: err.message });
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.events.emit("state", state);
  }
}
