/**
 * A shard of a very large room (README, "Very large rooms"): it holds some of the room's sockets
 * and sends them what the room forwards, so the room's fan-out costs one call per shard instead
 * of one send per socket. It decides nothing: the room admits each socket, handles each of its
 * frames, and orders everything the shard passes on. What is the shard's own: the socket
 * upgrade (so the socket's frames never flow through the room's object), the frame size and
 * per-socket frame budget, parsing, and heartbeats. Named `<roomId>#<n>` (./protocol.ts).
 */
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config";
import type { Bindings } from "../env";
import { echoClose } from "../lib/close";
import { log } from "../lib/log";
import { PING, PONG, type ServerFrame } from "../protocol";
import { FrameBudget } from "../room/flood";
import { readUpgrade, type Upgrade } from "../room/handoff";
import { screenFrame } from "../room/incoming";
import { Outbox } from "../room/outbox";
import type { Room } from "../room/Room";
import { shardName, type Delivery, type DeliveryReceipt, type StreamItem } from "./protocol";
import { ShardConnections, type ShardAttachment } from "./sockets";
import { hintFor } from "./regions";

/** A socket whose welcome has not come this long after the room admitted it is closed (its client reconnects). */
export const WELCOME_TIMEOUT_MS = 10_000;

interface Where {
  roomId: string;
  index: number;
}

export class RoomShard extends DurableObject<Bindings> {
  /** Changes whenever the shard starts again: the room compares rosters when it sees a new one. */
  private readonly instance = crypto.randomUUID();
  private readonly sockets: ShardConnections;
  private readonly outbox: Outbox;
  private readonly frames: FrameBudget;
  private where: Where | null;
  private room: DurableObjectStub<Room> | null = null;
  /** The room instance whose stream this is, and the last call of it applied (0: none known). */
  private epoch = 0;
  private applied = 0;
  private leaving: string[] = [];

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.sockets = new ShardConnections(ctx);
    this.outbox = new Outbox({
      sockets: () => this.sockets.live(),
      socketCount: () => this.sockets.size,
      userOf: (ws) => this.sockets.get(ws)?.user.id,
    });
    this.frames = new FrameBudget(readConfig(env).rates.frames);
    this.where = ctx.storage.kv.get<Where>("where") ?? null;
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  // ---- Joining ------------------------------------------------------------------------------

  async fetch(request: Request): Promise<Response> {
    const upgrade = readUpgrade(request);
    if (upgrade === null || upgrade.shard === undefined || request.headers.get("upgrade") !== "websocket") {
      return new Response("expected a verified websocket upgrade placed on a shard", { status: 426 });
    }
    const context = { requestId: upgrade.requestId, roomId: upgrade.roomId, userId: upgrade.user.id };
    return log.with(context, () => this.join(upgrade as Upgrade & { shard: number }));
  }

  private async join(upgrade: Upgrade & { shard: number }): Promise<Response> {
    const where = this.locate(upgrade.roomId, upgrade.shard);
    const { 0: client, 1: server } = new WebSocketPair();
    const att: ShardAttachment = {
      id: crypto.randomUUID(),
      user: upgrade.user,
      since: Date.now(),
      live: false,
      ...(upgrade.requestId ? { requestId: upgrade.requestId } : {}),
    };
    // Accepted before the room is asked: the room's welcome for it may arrive here before the
    // room's answer does, and the socket is what it is sent on (frames wait for the client).
    this.sockets.accept(server, att);
    let joined: Awaited<ReturnType<Room["shardJoin"]>>;
    try {
      joined = await this.roomStub(where).shardJoin(where.roomId, where.index, att.id, upgrade.user, upgrade.requestId);
    } catch (error) {
      this.room = null;
      log.warn({ msg: "shard join failed: room unreachable", shard: where.index, error });
      this.discard(server);
      return new Response("the room is unavailable; try again", { status: 503 });
    }
    if (!joined.ok) {
      this.discard(server);
      return new Response(joined.message, { status: joined.code === "not_found" ? 404 : 403 });
    }
    const now = this.sockets.get(server);
    if (now) {
      this.sockets.update(server, { ...now, epoch: joined.value.epoch });
      // A welcome that never comes (the room restarted before sending it) must not leave a
      // client waiting: the alarm closes it, and the client reconnects. (An alarm, not a timer:
      // a timer would keep the shard from hibernating.)
      if (!now.live && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now.since + WELCOME_TIMEOUT_MS);
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  async alarm(): Promise<void> {
    const cutoff = Date.now() - WELCOME_TIMEOUT_MS;
    let next = Infinity;
    for (const [ws, att] of this.sockets.pending()) {
      if (att.since <= cutoff) this.closeSocket(ws, 1011, "no welcome from the room; reconnect", true);
      else next = Math.min(next, att.since + WELCOME_TIMEOUT_MS);
    }
    if (next !== Infinity) await this.ctx.storage.setAlarm(next);
  }

  // ---- From the room ------------------------------------------------------------------------

  /** The room's stream (src/room/shard-links.ts): applied in order, each call once. */
  deliver(delivery: Delivery): DeliveryReceipt {
    if (delivery.epoch < this.epoch) return this.receipt();
    if (delivery.epoch > this.epoch) {
      // A new instance of the room: a socket an earlier one admitted and never welcomed will
      // not be welcomed now.
      if (this.epoch !== 0) {
        for (const [ws, att] of this.sockets.pending()) {
          if (att.epoch !== undefined && att.epoch < delivery.epoch) this.closeSocket(ws, 1012, "the room restarted; reconnect", true);
        }
      }
      this.epoch = delivery.epoch;
      this.applied = delivery.call - 1;
    }
    if (delivery.call <= this.applied) return this.receipt();
    if (this.applied > 0 && delivery.call > this.applied + 1) {
      // The room gave up frames it could not deliver: every socket here missed them.
      log.warn({ msg: "shard missed frames: closing its sockets", shard: this.where?.index, after: this.applied, call: delivery.call });
      for (const ws of [...this.sockets.live(), ...this.sockets.pending().map(([ws]) => ws)]) {
        this.closeSocket(ws, 1012, "frames were lost; reconnect", true);
      }
    }
    this.applied = delivery.call;
    this.apply(delivery.items);
    return this.receipt();
  }

  /** The ids of the sockets held here, those still joining included. */
  roster(): string[] {
    return this.sockets.ids();
  }

  private apply(items: StreamItem[]): void {
    const { outbox, sockets } = this;
    for (const item of items) {
      if (item.close !== undefined) {
        const ws = sockets.find(item.close);
        if (!ws) continue;
        outbox.flush();
        // The room has forgotten it already: nothing to report.
        this.closeSocket(ws, item.code, item.reason, false);
      } else if (item.to !== undefined) {
        const ws = sockets.find(item.to);
        const att = ws && sockets.get(ws);
        if (!ws || !att) continue;
        if (!att.live) {
          // Its welcome: it gets what the room sends from here on, nothing from before.
          outbox.flush();
          sockets.update(ws, { ...att, live: true });
        }
        outbox.sendJsonTo(ws, item.f, item.n);
      } else {
        outbox.broadcastJson(item.f, item.n, item.x);
      }
    }
    outbox.flush();
  }

  private receipt(): DeliveryReceipt {
    return { instance: this.instance, sockets: this.sockets.size };
  }

  // ---- Sockets ------------------------------------------------------------------------------

  async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const att = this.sockets.get(ws);
    const where = this.where;
    if (!att || where === null) return ws.close(1011, "unknown connection");
    const context = { requestId: att.requestId, roomId: where.roomId, userId: att.user.id };
    return log.with(context, () => this.onMessage(ws, where, att, data));
  }

  private async onMessage(ws: WebSocket, where: Where, att: ShardAttachment, data: string | ArrayBuffer): Promise<void> {
    const frame = screenFrame(ws, data, this.frames, {
      tooLarge: () => this.closeSocket(ws, 1009, "frame larger than 64 KiB", true),
      tell: (frame) => send(ws, frame),
      close: () => this.closeSocket(ws, 1008, "frame budget exceeded", true),
    });
    if (frame === null) return;
    if (frame.type === "ping") return void ws.send(PONG);
    // The room handles it as it handles its own sockets' frames; what it answers comes back in
    // its stream, in order with everything else it sends.
    try {
      await this.roomStub(where).shardFrame(where.roomId, where.index, att.id, frame);
    } catch (error) {
      this.room = null;
      log.warn({ msg: "frame not handed to the room: closing the socket", error });
      // The client resends what was not acknowledged once it reconnects.
      this.closeSocket(ws, 1012, "the room restarted; reconnect", true);
    }
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.left(ws);
    echoClose(ws, code, reason);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    this.left(ws);
  }

  // ---- Helpers ------------------------------------------------------------------------------

  /** Closes a socket; `report`: the room still counts it and must hear that it left. */
  private closeSocket(ws: WebSocket, code: number, reason: string, report: boolean): void {
    try {
      ws.close(code, reason);
    } catch {
      // already closing
    }
    if (report) this.left(ws);
    else this.sockets.remove(ws);
  }

  /** A socket the room refused (or could not be asked about): it was never handed to a client. */
  private discard(ws: WebSocket): void {
    this.sockets.remove(ws);
    try {
      ws.close(1011, "not admitted");
    } catch {
      // never opened
    }
  }

  /** A socket is gone: the room hears of it (leaves of one turn in one call). */
  private left(ws: WebSocket): void {
    const att = this.sockets.remove(ws);
    const where = this.where;
    if (!att || where === null) return;
    this.leaving.push(att.id);
    if (this.leaving.length > 1) return;
    setTimeout(() => {
      const ids = this.leaving;
      this.leaving = [];
      const report = this.roomStub(where)
        .shardLeft(where.roomId, where.index, ids)
        .catch((error: unknown) => {
          // The room compares rosters when it next finds a difference, and forgets them then.
          this.room = null;
          log.warn({ msg: "leave report failed", sockets: ids.length, error });
        });
      this.ctx.waitUntil(report);
    }, 0);
  }

  private locate(roomId: string, index: number): Where {
    if (this.where === null) {
      this.where = { roomId, index };
      this.ctx.storage.kv.put("where", this.where);
    } else if (this.where.roomId !== roomId || this.where.index !== index) {
      throw new Error(`shard ${this.where.roomId}#${this.where.index} asked to serve ${roomId}#${index}`);
    }
    return this.where;
  }

  private roomStub(where: Where): DurableObjectStub<Room> {
    return (this.room ??= this.env.ROOM.get(this.env.ROOM.idFromName(where.roomId)));
  }
}

function send(ws: WebSocket, frame: ServerFrame): void {
  try {
    ws.send(JSON.stringify(frame));
  } catch {
    // closed under us
  }
}

/** The stub of a room's shard `index`, in its region when the shards have regions. */
export function shardStub(env: Bindings, roomId: string, index: number): DurableObjectStub<RoomShard> {
  const locationHint = hintFor(index, readConfig(env).roomShardRegions);
  return env.ROOM_SHARD.get(env.ROOM_SHARD.idFromName(shardName(roomId, index)), locationHint ? { locationHint } : undefined);
}
