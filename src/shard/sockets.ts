/**
 * A shard's sockets. Identity, the id the room knows each socket by and whether its welcome has
 * arrived live in each socket's attachment, so they survive hibernation; the indexes are rebuilt
 * from the attachments whenever the shard wakes.
 */
import type { Identity } from "../protocol";

export interface ShardAttachment {
  /** The id the room knows this socket by. */
  id: string;
  user: Identity;
  since: number;
  requestId?: string;
  /** False until the room's welcome for it arrived; until then it gets none of the room's frames. */
  live: boolean;
  /** The room instance that admitted it (its epoch), once the room said so. */
  epoch?: number;
}

export class ShardConnections {
  private readonly bySocket = new Map<WebSocket, ShardAttachment>();
  private readonly byId = new Map<string, WebSocket>();
  private liveList: WebSocket[] | null = null;

  constructor(private readonly ctx: DurableObjectState) {
    for (const ws of ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as ShardAttachment | null;
      if (att) this.index(ws, att);
    }
  }

  get size(): number {
    return this.bySocket.size;
  }

  get(ws: WebSocket): ShardAttachment | undefined {
    return this.bySocket.get(ws);
  }

  find(id: string): WebSocket | undefined {
    return this.byId.get(id);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** Sockets whose welcome arrived: the ones the room's frames go to. */
  live(): WebSocket[] {
    this.liveList ??= [...this.bySocket].filter(([, att]) => att.live).map(([ws]) => ws);
    return this.liveList;
  }

  /** Sockets still waiting for their welcome. */
  pending(): [WebSocket, ShardAttachment][] {
    return [...this.bySocket].filter(([, att]) => !att.live);
  }

  accept(ws: WebSocket, att: ShardAttachment): void {
    this.ctx.acceptWebSocket(ws, [`user:${att.user.id}`]);
    this.update(ws, att);
  }

  update(ws: WebSocket, att: ShardAttachment): void {
    ws.serializeAttachment(att);
    this.index(ws, att);
  }

  remove(ws: WebSocket): ShardAttachment | undefined {
    const att = this.bySocket.get(ws);
    if (!att) return undefined;
    this.bySocket.delete(ws);
    this.byId.delete(att.id);
    if (att.live) this.liveList = null;
    return att;
  }

  private index(ws: WebSocket, att: ShardAttachment): void {
    const before = this.bySocket.get(ws);
    this.bySocket.set(ws, att);
    this.byId.set(att.id, ws);
    if (before?.live !== att.live) this.liveList = null;
  }
}
