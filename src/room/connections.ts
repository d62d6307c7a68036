/**
 * The room's sockets and who is behind each. Identity and status live in each socket's
 * attachment, so they survive hibernation; the in-memory index is rebuilt from the
 * attachments whenever the object wakes.
 */
import type { Identity, OnlineUser, PresenceStatus } from "../protocol";

export interface Attachment extends Identity {
  status: "online" | "away";
  /** When the socket joined (epoch ms): the oldest goes first when a user opens too many. */
  since?: number;
  /** The id of the upgrade request, on what the room logs about this socket. */
  requestId?: string;
}

export class Connections {
  private readonly bySocket = new Map<WebSocket, Attachment>();
  private list: WebSocket[] | null = null;

  constructor(private readonly ctx: DurableObjectState) {
    for (const ws of ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (att) this.bySocket.set(ws, att);
    }
  }

  /** Open sockets, in a stable array that is rebuilt only when someone joins or leaves. */
  sockets(): WebSocket[] {
    this.list ??= [...this.bySocket.keys()];
    return this.list;
  }

  get size(): number {
    return this.bySocket.size;
  }

  get(ws: WebSocket): Attachment | undefined {
    return this.bySocket.get(ws);
  }

  add(ws: WebSocket, identity: Identity, requestId?: string): Attachment {
    const att: Attachment = { ...identity, status: "online", since: Date.now(), ...(requestId ? { requestId } : {}) };
    this.ctx.acceptWebSocket(ws, [`user:${identity.id}`]);
    ws.serializeAttachment(att);
    this.bySocket.set(ws, att);
    this.list = null;
    return att;
  }

  remove(ws: WebSocket): Attachment | undefined {
    const att = this.bySocket.get(ws);
    if (this.bySocket.delete(ws)) this.list = null;
    return att;
  }

  socketsOf(userId: string): WebSocket[] {
    return this.sockets().filter((ws) => this.bySocket.get(ws)?.id === userId);
  }

  /** The user's socket that joined first (sockets from before `since` existed count as oldest). */
  oldestOf(userId: string): WebSocket | undefined {
    let oldest: WebSocket | undefined;
    for (const ws of this.socketsOf(userId)) {
      if (!oldest || (this.bySocket.get(ws)!.since ?? 0) < (this.bySocket.get(oldest)!.since ?? 0)) oldest = ws;
    }
    return oldest;
  }

  /** A user is online if any of their sockets is, away if all are away, else offline. */
  statusOf(userId: string): PresenceStatus {
    let status: PresenceStatus = "offline";
    for (const att of this.bySocket.values()) {
      if (att.id !== userId) continue;
      if (att.status === "online") return "online";
      status = "away";
    }
    return status;
  }

  setStatus(userId: string, status: Attachment["status"]): void {
    for (const ws of this.socketsOf(userId)) {
      const att = { ...this.bySocket.get(ws)!, status };
      ws.serializeAttachment(att);
      this.bySocket.set(ws, att);
    }
  }

  online(): OnlineUser[] {
    const users = new Map<string, OnlineUser>();
    for (const att of this.bySocket.values()) {
      const seen = users.get(att.id);
      if (!seen) users.set(att.id, { id: att.id, name: att.name, status: att.status });
      else if (att.status === "online") seen.status = "online";
    }
    return [...users.values()];
  }
}
