/**
 * A user's device sockets. Each socket's attachment holds what the object needs about it, so
 * the index is rebuilt from the attachments whenever the object wakes from hibernation.
 */
export interface Device {
  status: "online" | "away";
  /** When the socket joined (epoch ms): the oldest goes first when a user opens too many. */
  since: number;
  requestId?: string;
}

export class Devices {
  private readonly bySocket = new Map<WebSocket, Device>();

  constructor(private readonly ctx: DurableObjectState) {
    for (const ws of ctx.getWebSockets()) {
      const device = ws.deserializeAttachment() as Device | null;
      if (device) this.bySocket.set(ws, device);
    }
  }

  get size(): number {
    return this.bySocket.size;
  }

  sockets(): WebSocket[] {
    return [...this.bySocket.keys()];
  }

  get(ws: WebSocket): Device | undefined {
    return this.bySocket.get(ws);
  }

  add(ws: WebSocket, requestId?: string): void {
    const device: Device = { status: "online", since: Date.now(), ...(requestId ? { requestId } : {}) };
    this.ctx.acceptWebSocket(ws);
    ws.serializeAttachment(device);
    this.bySocket.set(ws, device);
  }

  remove(ws: WebSocket): boolean {
    return this.bySocket.delete(ws);
  }

  setStatus(ws: WebSocket, status: Device["status"]): void {
    const device = this.bySocket.get(ws);
    if (!device || device.status === status) return;
    const next = { ...device, status };
    ws.serializeAttachment(next);
    this.bySocket.set(ws, next);
  }

  oldest(): WebSocket | undefined {
    let oldest: WebSocket | undefined;
    for (const [ws, d] of this.bySocket) if (!oldest || d.since < this.bySocket.get(oldest)!.since) oldest = ws;
    return oldest;
  }

  /** The devices' own status: online if any is, away if all are, offline with none. */
  status(): "online" | "away" | "offline" {
    let status: "online" | "away" | "offline" = "offline";
    for (const d of this.bySocket.values()) {
      if (d.status === "online") return "online";
      status = "away";
    }
    return status;
  }

  broadcast(json: string): void {
    for (const ws of this.bySocket.keys()) {
      try {
        ws.send(json);
      } catch {
        // closing; webSocketClose removes it
      }
    }
  }
}
