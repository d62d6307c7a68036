/**
 * The room's sockets and who is behind each. Identity and status live in each socket's
 * attachment, so they survive hibernation; the in-memory indexes (by socket, by user, and the
 * per-user presence in ./presence.ts) are rebuilt from the attachments whenever the object
 * wakes. Everything here costs O(1) per socket, or O(the user's sockets): a room filling up
 * with thousands of users must not scan every socket on each join.
 */
import type { Identity, OnlineUser, PresenceStatus } from "../protocol";
import type { Presence, SocketStatus, Transition } from "./presence";

export interface Attachment extends Identity {
  status: SocketStatus;
  /** When the socket joined (epoch ms): the oldest goes first when a user opens too many. */
  since?: number;
  /** The id of the upgrade request, on what the room logs about this socket. */
  requestId?: string;
}

export class Connections {
  private readonly bySocket = new Map<WebSocket, Attachment>();
  private readonly byUser = new Map<string, Set<WebSocket>>();
  private list: WebSocket[] | null = null;

  constructor(
    private readonly ctx: DurableObjectState,
    readonly presence: Presence,
  ) {
    const restored: [WebSocket, Attachment][] = [];
    for (const ws of ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (att) restored.push([ws, att]);
    }
    // In the order they joined (the runtime's order is not), so the welcome's first 100 stay
    // the users longest online.
    restored.sort(([, a], [, b]) => (a.since ?? 0) - (b.since ?? 0));
    for (const [ws, att] of restored) {
      this.index(ws, att);
      presence.restore(att, att.status);
    }
  }

  /** Open sockets, in a stable array: a join appends to it, a leave has it rebuilt when next asked for. */
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

  /** Accepts the socket into the room; returns the user's status before and after. */
  add(ws: WebSocket, identity: Identity, requestId?: string): Transition {
    const att: Attachment = { ...identity, status: "online", since: Date.now(), ...(requestId ? { requestId } : {}) };
    this.ctx.acceptWebSocket(ws, [`user:${identity.id}`]);
    ws.serializeAttachment(att);
    this.index(ws, att);
    return this.presence.gained(att, att.status);
  }

  /** Forgets the socket; returns who it was and their status before and after. */
  remove(ws: WebSocket): (Transition & { user: Attachment }) | undefined {
    const att = this.bySocket.get(ws);
    if (!att) return undefined;
    this.bySocket.delete(ws);
    this.list = null;
    const own = this.byUser.get(att.id);
    own?.delete(ws);
    if (own?.size === 0) this.byUser.delete(att.id);
    return { user: att, ...this.presence.lost(att.id, att.status) };
  }

  socketsOf(userId: string): WebSocket[] {
    const own = this.byUser.get(userId);
    return own ? [...own] : [];
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
    return this.presence.statusOf(userId);
  }

  /** Sets every socket of the user to the status; returns the user's status before and after. */
  setStatus(userId: string, status: SocketStatus): Transition {
    const before = this.presence.statusOf(userId);
    for (const ws of this.socketsOf(userId)) {
      const old = this.bySocket.get(ws)!;
      if (old.status === status) continue;
      const att = { ...old, status };
      ws.serializeAttachment(att);
      this.bySocket.set(ws, att);
      this.presence.changed(userId, old.status, status);
    }
    return { before, after: this.presence.statusOf(userId) };
  }

  /** Everyone online or away, longest online first. */
  online(): OnlineUser[] {
    return this.presence.list();
  }

  private index(ws: WebSocket, att: Attachment): void {
    if (!this.bySocket.has(ws)) this.list?.push(ws);
    this.bySocket.set(ws, att);
    let own = this.byUser.get(att.id);
    if (!own) this.byUser.set(att.id, (own = new Set()));
    own.add(ws);
  }
}
