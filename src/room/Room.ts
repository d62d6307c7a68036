/**
 * One Durable Object per room: its sockets, presence and typing, its members, the per-room
 * `seq`, the messages (stored here before anyone hears of them) and the flush to D1. The
 * handlers below check who is asking and delegate to the modules beside this file.
 */
import { echoClose } from "../lib/close";
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config";
import type { NewRoom } from "../db/rooms";
import type { Role } from "../db/schema";
import type { Bindings } from "../env";
import { log, type LogContext } from "../lib/log";
import type { RoomRpc } from "../lib/room-rpc";
import {
  PING,
  PONG,
  RECENT_ON_WELCOME,
  SYNC_PAGE,
  WELCOME_ONLINE_LIMIT,
  type ClientFrame,
  type Identity,
  type Message,
  type OnlineUser,
  type PresenceStatus,
  type SendInput,
  type Topic,
} from "../protocol";
import { roomTopicsFor } from "../topics";
import { Archive } from "./archive";
import { Chat } from "./chat";
import { Connections } from "./connections";
import { Flusher } from "./flusher";
import { readUpgrade, type Upgrade } from "./handoff";
import { History } from "./history";
import { Membership, type Member } from "./membership";
import { Outbox } from "./outbox";
import { Presence, type PresenceChange } from "./presence";
import { roomFiles } from "./files";
import { Receipts } from "./receipts";
import { fail, ok, type RoomParts, type RoomResult } from "./parts";
import { ReadPositions } from "./reads";
import { Roster } from "./roster";
import { MessageStore } from "./store";
import { Typing } from "./typing";
import { FrameBudget } from "./flood";
import { screenFrame } from "./incoming";
import { Placement } from "./placement";
import { ShardLinks } from "./shard-links";
import { ShardSocket, ShardSockets } from "./shard-sockets";
import { shardStub } from "../shard/RoomShard";
import { Guards } from "./guards";
import { Settings, type RoomPatch } from "./settings";
import { limitsFor } from "../limits";
import { MessageWriter } from "./writer";
import { statsStub, type RoomReport } from "../admin/stats";
import { StatsReporter } from "./stats";
import { RoomErasure } from "./erasure";
import { RoomEvents } from "./events";
import { UnreadReports } from "./unread";
import { userStub } from "../user/User";

export type { RoomResult } from "./parts";

/** A socket the room's handlers answer: one it holds, or one a shard holds for it (src/shard/). */
type Peer = WebSocket | ShardSocket;

/** The room's shards: the sockets they hold, the streams to them, where new sockets go. */
interface Shards {
  sockets: ShardSockets;
  links: ShardLinks;
  placement: Placement;
}

export class Room extends DurableObject<Bindings> {
  private readonly p: RoomParts;
  private readonly chat: Chat;
  private readonly roster: Roster;
  private readonly settings: Settings;
  private readonly frames: FrameBudget;
  private readonly erasure: RoomErasure;
  private readonly shards: Shards;
  private roomId: string | null;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    const config = readConfig(env);
    const store = new MessageStore(ctx.storage);
    const archive = new Archive(env.DB);
    const reads = new ReadPositions(ctx.storage.sql);
    // Presence changes leave through the outbox, which exists by the time any is announced.
    const presence = new Presence({ intervalMs: config.presenceIntervalMs, announce: (changes) => this.announcePresence(changes) });
    const connections = new Connections(ctx, presence);
    const membership = new Membership(ctx.storage.sql, config.staff);
    const receipts = new Receipts(reads, membership);
    this.frames = new FrameBudget(config.rates.frames);
    const shardSockets = new ShardSockets(ctx.storage.sql, presence);
    this.shards = {
      sockets: shardSockets,
      links: new ShardLinks({
        stub: (shard) => shardStub(env, this.roomId!, shard),
        waitUntil: (promise) => ctx.waitUntil(promise),
        count: (shard) => shardSockets.countOn(shard),
        stale: (shard) => void this.reconcile(shard),
        epoch: () => {
          // Strictly later than any earlier instance's, even one started within the same millisecond.
          const epoch = Math.max(Date.now(), (ctx.storage.kv.get<number>("shardEpoch") ?? 0) + 1);
          ctx.storage.kv.put("shardEpoch", epoch);
          return epoch;
        },
      }),
      placement: new Placement(
        config.roomShardThreshold,
        { here: () => connections.size, on: (shard) => shardSockets.countOn(shard) },
        config.roomShardRegions.length,
      ),
    };
    this.p = {
      ctx,
      env,
      config,
      store,
      writer: new MessageWriter(store),
      archive,
      reads,
      receipts,
      files: roomFiles(env),
      connections,
      history: new History(store, archive, receipts),
      flusher: new Flusher(ctx.storage, store, archive, reads, {
        intervalMs: config.flushIntervalMs,
        batchRows: config.flushBatchRows,
        retainLocal: config.retainLocalMessages,
      }),
      outbox: new Outbox({
        sockets: () => connections.sockets(),
        // The window grows with the whole room, its shards' sockets too: a shard sends what it
        // is given as it comes, so the room's flushes are what coalesces their frames.
        socketCount: () => connections.size + shardSockets.size,
        userOf: (ws) => connections.get(ws)?.id,
        // Whole-room frames go to every shard holding sockets, once per flush (src/room/shard-links.ts).
        forwarding: () => shardSockets.size > 0,
        forward: (frames) => this.shards.links.forward(frames, shardSockets.shards()),
      }),
      typing: new Typing((userId) => this.broadcastTyping(userId, false)),
      membership,
      // The room lives as long as its senders' budgets are used: sends draw tokens ahead.
      limits: limitsFor(env, { leased: ["sends"] }),
      guards: new Guards(ctx.storage.sql, store),
      topics: roomTopicsFor(ctx, env, config, (frame) => this.p.outbox.broadcast(frame)),
      stats: new StatsReporter(
        {
          roomId: () => this.roomId,
          sockets: () => connections.size + shardSockets.size,
          onlineUserIds: () => presence.userIds(),
          typing: () => this.p.typing.count,
        },
        (report) => statsStub(env).report(report),
      ),
      // Set just below: both need the other parts.
      events: null as unknown as RoomEvents,
      unread: new UnreadReports(ctx, env, store, reads),
    };
    this.p.events = new RoomEvents(this.p);
    this.p.flusher.then({
      pending: () => this.p.events.pending(),
      run: (roomId) => this.p.events.dispatch(roomId),
      keepAbove: () => this.p.events.throughSeq,
    });
    this.chat = new Chat(this.p);
    this.roster = new Roster(this.p, (userId) => this.evict(userId));
    this.settings = new Settings(this.p);
    this.erasure = new RoomErasure(this.p, this.chat, this.roster);
    this.roomId = store.getMeta("roomId");
    // Heartbeats are answered by the runtime without waking a hibernated room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    void ctx.blockConcurrencyWhile(() => this.p.flusher.init());
  }

  // ---- Sockets ---------------------------------------------------------------------------

  async fetch(request: Request): Promise<Response> {
    const upgrade = readUpgrade(request);
    if (upgrade === null || request.headers.get("upgrade") !== "websocket") {
      return new Response("expected a verified websocket upgrade", { status: 426 });
    }
    return log.with({ requestId: upgrade.requestId, roomId: upgrade.roomId, userId: upgrade.user.id }, () => this.open(upgrade));
  }

  private async open(upgrade: Upgrade): Promise<Response> {
    const access = this.access(upgrade.roomId, upgrade.user);
    if (!access.ok) return new Response(access.message, { status: access.code === "not_found" ? 404 : 403 });
    this.shards.placement.arrived(null);
    const { 0: client, 1: server } = new WebSocketPair();
    await this.join(upgrade.roomId, upgrade.user, () => ({ peer: server, ...this.p.connections.add(server, upgrade.user, upgrade.requestId) }));
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * A socket joins (one of the room's own, or one on a shard): `add` counts it in, then it gets
   * the welcome, and after it everything the room sends.
   */
  private async join(roomId: string, user: Identity, add: () => { peer: Peer; before: PresenceStatus; after: PresenceStatus }): Promise<void> {
    const recent = await this.recentMessages(roomId);
    // Frames already queued predate this socket; send them before it joins the room.
    this.p.outbox.flush();
    this.closeOldestBeyondCap(user.id);
    const { peer, before, after } = add();
    this.p.stats.changed();
    const { presence } = this.p.connections;
    // Who is online now; the `presence` frames that follow (announced later in a large room,
    // to this socket as well) carry changes from here on, each with the count.
    this.p.outbox.sendTo(peer, {
      type: "welcome",
      room: { id: roomId },
      you: user,
      lastSeq: this.p.store.lastSeq,
      online: presence.first(WELCOME_ONLINE_LIMIT),
      onlineCount: presence.onlineCount,
      recent,
    });
    // The welcome leaves alone and first: presence frames (this user's own `online` among them)
    // go to every socket, this one too, and follow it. (A shard's socket gets the room's frames
    // from its welcome on: the welcome's place in the shard's stream is the moment it joined.)
    this.p.outbox.flush();
    if (before !== after) this.reportPresence(roomId, user.id, after);
    await this.delivered(roomId, user.id, this.p.store.lastSeq);
  }

  async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const user = this.p.connections.get(ws);
    const roomId = this.roomId;
    if (!user || roomId === null) return ws.close(1011, "unknown connection");
    // What this frame causes is logged with the socket's upgrade request id.
    return log.with({ requestId: user.requestId, roomId, userId: user.id }, () => this.onMessage(ws, roomId, user, data));
  }

  private async onMessage(ws: WebSocket, roomId: string, user: Identity, data: string | ArrayBuffer): Promise<void> {
    const frame = screenFrame(ws, data, this.frames, {
      tooLarge: () => ws.close(1009, "frame larger than 64 KiB"),
      tell: (frame) => this.p.outbox.sendTo(ws, frame),
      close: () => {
        this.p.outbox.flush();
        ws.close(1008, "frame budget exceeded");
        this.leave(ws);
      },
    });
    if (frame !== null) return this.onParsed(ws, roomId, user, frame);
  }

  /** A parsed frame from a socket here or on a shard (which checked its size and budget). */
  private async onParsed(peer: Peer, roomId: string, user: Identity, frame: ClientFrame): Promise<void> {
    // Membership can change while a socket is open; every frame is checked against the copy.
    const role = this.p.membership.roleOf(user);
    if (role === null) {
      this.p.outbox.sendTo(peer, { type: "error", code: "forbidden", message: "you are not a member of this room" });
      log.info({ msg: "socket closed: not a member" });
      return this.closePeer(peer, 1008, "not a member");
    }
    await this.onFrame(peer, roomId, user, role, frame);
    this.p.outbox.flushIfDue();
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.leave(ws);
    // The client closed first: echo its close frame (see evict() for a close the room started).
    echoClose(ws, code, reason);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    this.leave(ws);
  }

  async alarm(info?: AlarmInvocationInfo): Promise<void> {
    await log.with({ roomId: this.roomId ?? undefined }, () => this.p.flusher.onAlarm(this.roomId, info?.retryCount ?? 0));
  }

  // ---- RPC from the Worker ----------------------------------------------------------------

  /** Any RPC below, with the caller's log context (`roomStub` in src/lib/room-rpc.ts calls this). */
  inContext<K extends RoomRpc>(context: LogContext, method: K, args: Parameters<Room[K]>): ReturnType<Room[K]> {
    const call = this[method] as (...a: Parameters<Room[K]>) => ReturnType<Room[K]>;
    // The calls name their room first (create: the new room, with its id).
    const first = args[0] as unknown;
    const roomId = typeof first === "string" ? first : ((first as { id?: string } | undefined)?.id ?? this.roomId ?? undefined);
    return log.with({ ...context, roomId }, () => call.apply(this, args));
  }

  /** Whether the user may use this room, and as what. */
  access(roomId: string, user: Identity): RoomResult<{ role: Role }> {
    this.bind(roomId);
    if (this.p.membership.info === null) return fail("not_found", "no such room");
    const role = this.p.membership.roleOf(user);
    return role === null ? fail("forbidden", "you are not a member of this room") : ok({ role });
  }

  /**
   * Before a socket upgrade: whether the user may connect, and where the socket goes: null for
   * this object, a number for that shard (src/room/placement.ts), to which the Worker hands the
   * upgrade itself, so the socket's frames never flow through this object. `region`: where the
   * socket comes from, among ROOM_SHARD_REGIONS (src/shard/regions.ts).
   */
  async admit(roomId: string, user: Identity, region = 0): Promise<RoomResult<{ role: Role; shard: number | null }>> {
    const access = this.access(roomId, user);
    if (!access.ok) return access;
    // A user who connects while the room still counts a socket of theirs on a shard is often one
    // whose shard lost it (restarted, its sockets closed, before the room heard): those shards'
    // rosters are compared first, so the room neither counts the lost socket nor places around it.
    const theirs = new Set(this.shards.sockets.socketsOf(user.id).map((s) => s.shard));
    if (theirs.size > 0) await Promise.all([...theirs].map((shard) => this.reconcile(shard)));
    return ok({ role: access.value.role, shard: this.shards.placement.place(region) });
  }

  async create(room: NewRoom, roster: Member[]) {
    this.bind(room.id);
    return this.roster.create(room, roster);
  }

  async addMember(roomId: string, actor: Identity, target: Identity, role: Role) {
    const access = this.access(roomId, actor);
    return access.ok ? this.roster.add(actor, target, role) : access;
  }

  async removeMember(roomId: string, actor: Identity, targetId: string, successorId?: string) {
    const access = this.access(roomId, actor);
    return access.ok ? this.roster.remove(actor, targetId, successorId) : access;
  }

  async setRole(roomId: string, actor: Identity, target: Identity, role: Role) {
    const access = this.access(roomId, actor);
    return access.ok ? this.roster.setRole(actor, target, role) : access;
  }

  async postMessage(roomId: string, user: Identity, input: SendInput) {
    const access = this.access(roomId, user);
    return access.ok ? this.chat.post(roomId, user, access.value.role, input) : access;
  }

  /** Title and slow mode: a group's admins (and the community's). */
  async updateRoom(roomId: string, actor: Identity, patch: RoomPatch) {
    const access = this.access(roomId, actor);
    return access.ok ? this.settings.update(roomId, access.value.role, patch) : access;
  }

  async editMessage(roomId: string, user: Identity, id: string, text: string) {
    const access = this.access(roomId, user);
    return access.ok ? this.chat.edit(roomId, user, id, text) : access;
  }

  async deleteMessage(roomId: string, user: Identity, id: string) {
    const access = this.access(roomId, user);
    return access.ok ? this.chat.delete(roomId, user, access.value.role, id) : access;
  }

  async reactToMessage(roomId: string, user: Identity, id: string, emoji: string, on: boolean) {
    const access = this.access(roomId, user);
    return access.ok ? this.chat.react(roomId, user, id, emoji, on) : access;
  }

  async markRead(roomId: string, user: Identity, seq: number): Promise<RoomResult<{ seq: number }>> {
    const access = this.access(roomId, user);
    return access.ok ? ok({ seq: await this.chat.read(roomId, user, seq) }) : access;
  }

  /** Who (other than its author) has read a message. Names are the caller's to look up. */
  async getReaders(roomId: string, user: Identity, id: string): Promise<RoomResult<{ userIds: string[] }>> {
    const access = this.access(roomId, user);
    if (!access.ok) return access;
    const message = await this.p.history.byId(roomId, id);
    if (!message) return fail("not_found", "no such message in this room");
    return ok({ userIds: this.p.reads.readers(message.seq, message.author.id) });
  }

  async getMessages(
    roomId: string,
    user: Identity,
    limit: number,
    before?: number,
  ): Promise<RoomResult<{ messages: Message[]; nextBefore: number | null }>> {
    const access = this.access(roomId, user);
    return access.ok ? ok(await this.p.history.page(roomId, limit, before)) : access;
  }

  async getPresence(roomId: string, user: Identity): Promise<RoomResult<OnlineUser[]>> {
    const access = this.access(roomId, user);
    return access.ok ? ok(this.p.connections.online()) : access;
  }

  /** The room's trending topics, best first (src/topics/). */
  async getTopics(roomId: string, user: Identity, limit: number): Promise<RoomResult<{ topics: Topic[] }>> {
    const access = this.access(roomId, user);
    if (!access.ok) return access;
    try {
      return ok({ topics: await this.p.topics.top(roomId, limit) });
    } catch {
      // Logged by the topics; the caller gets the contract's error shape.
      return fail("unavailable", "topics are unavailable right now", { retryAfter: 5 });
    }
  }

  /** A user's erasure here, one bounded piece per call (the Eraser job, src/admin/erasure.ts). */
  async eraseUser(roomId: string, userId: string, limit: number) {
    this.bind(roomId);
    return this.erasure.run(roomId, userId, limit);
  }

  /**
   * Retention removed this room's messages up to `throughSeq` from D1, or is about to (it asks
   * first): the room drops its copies and its history starts after them. Returns once no flush
   * that could write them back is under way.
   */
  async expireMessages(roomId: string, throughSeq: number): Promise<{ firstSeq: number }> {
    this.bind(roomId);
    this.p.store.expireThrough(throughSeq);
    await this.p.flusher.idle();
    return { firstSeq: this.p.store.firstSeq };
  }

  /**
   * A user's object starts (on) or stops the reports of their unread count here; `reportNow`
   * also reports the current count, for a room the user joined while connected.
   */
  async watchUnread(roomId: string, userId: string, on: boolean, reportNow = false): Promise<void> {
    this.bind(roomId);
    this.p.unread.watch(userId, on);
    if (on && reportNow) this.p.unread.reportTo(roomId, userId);
  }

  /** For the Stats object's check of a room it has not heard from for a while (null: never used). */
  statsSnapshot(): RoomReport | null {
    return this.p.stats.snapshot();
  }

  // ---- RPC from the room's shards (src/shard/) -----------------------------------------------

  /**
   * A shard accepted a socket placed on it and asks whether it may stay: the same checks as for
   * the room's own sockets. Its welcome goes out in the shard's stream; the answer names this
   * room instance, whose stream it is.
   */
  async shardJoin(roomId: string, shard: number, socketId: string, user: Identity, requestId?: string): Promise<RoomResult<{ epoch: number }>> {
    return log.with({ requestId, roomId, userId: user.id }, async () => {
      const access = this.access(roomId, user);
      if (!access.ok) return access;
      this.shards.placement.arrived(shard);
      await this.join(roomId, user, () => {
        const { socket, ...transition } = this.shards.sockets.add(shard, socketId, user, requestId);
        return { peer: socket, ...transition };
      });
      return ok({ epoch: this.shards.links.epoch });
    });
  }

  /** A frame from a socket on a shard, checked there for size and budget and parsed. */
  async shardFrame(roomId: string, shard: number, socketId: string, frame: ClientFrame): Promise<void> {
    const socket = this.shards.sockets.get(socketId);
    if (!socket || socket.shard !== shard) {
      // Forgotten here (its shard seemed to have lost it): it reconnects and is counted again.
      this.shards.links.close(shard, socketId, 1011, "unknown connection");
      return;
    }
    return log.with({ requestId: socket.requestId, roomId, userId: socket.user.id }, () => this.onParsed(socket, roomId, socket.user, frame));
  }

  /** Sockets on a shard closed. */
  shardLeft(roomId: string, shard: number, socketIds: string[]): void {
    this.bind(roomId);
    for (const id of socketIds) {
      const socket = this.shards.sockets.get(id);
      if (socket?.shard === shard) this.leave(socket);
    }
  }

  /**
   * A shard restarted, or holds another number of sockets than the room counts: sockets the room
   * counts there and the shard does not hold left without the room hearing of it. (Sockets the
   * shard holds that the room does not know are joins on their way.)
   */
  private async reconcile(shard: number): Promise<void> {
    // Only sockets counted before the question: one that joins meanwhile may be missing from the answer.
    const counted = this.shards.sockets.idsOn(shard);
    try {
      const held = new Set(await this.shards.links.roster(shard));
      const gone = counted.filter((id) => !held.has(id));
      // Mostly leaves whose report is on its way (counted out here first; the report then finds nothing).
      if (gone.length > 0) log.info({ msg: "shard sockets gone unreported", shard, sockets: gone.length });
      for (const id of gone) {
        const socket = this.shards.sockets.get(id);
        if (socket) this.leave(socket);
      }
    } catch (error) {
      log.warn({ msg: "shard roster unavailable", shard, error });
    }
  }

  // ---- Frames ------------------------------------------------------------------------------

  private async onFrame(peer: Peer, roomId: string, user: Identity, role: Role, frame: ClientFrame): Promise<void> {
    const { outbox } = this.p;
    switch (frame.type) {
      case "send": {
        const result = await this.chat.post(roomId, user, role, frame);
        if (!result.ok) {
          const { code, message, retryAfter } = result;
          return outbox.sendTo(peer, { type: "error", code, message, clientId: frame.clientId, ...(retryAfter ? { retryAfter } : {}) });
        }
        const { id, seq, createdAt } = result.value.message;
        return outbox.sendTo(peer, { type: "ack", clientId: frame.clientId, id, seq, createdAt });
      }
      case "edit":
      case "delete": {
        const result =
          frame.type === "edit"
            ? await this.chat.edit(roomId, user, frame.id, frame.text)
            : await this.chat.delete(roomId, user, role, frame.id);
        if (!result.ok) outbox.sendTo(peer, { type: "error", code: result.code, message: result.message });
        return;
      }
      case "read":
        await this.chat.read(roomId, user, frame.seq);
        return;
      case "sync": {
        const { messages, more } = await this.p.history.after(roomId, frame.after, SYNC_PAGE);
        outbox.sendTo(peer, { type: "sync", messages, more });
        const last = messages.at(-1);
        if (last) await this.delivered(roomId, user.id, last.seq);
        return;
      }
      case "typing":
        if (frame.on) {
          const wasTyping = this.p.typing.isTyping(user.id);
          this.p.typing.start(user.id);
          if (!wasTyping) this.broadcastTyping(user.id, true, user.name);
        } else if (this.p.typing.stop(user.id)) {
          this.broadcastTyping(user.id, false, user.name);
        }
        return;
      case "presence": {
        const before = this.p.connections.statusOf(user.id);
        this.p.connections.setStatus(user.id, frame.status);
        this.shards.sockets.setStatus(user.id, frame.status);
        const after = this.p.connections.statusOf(user.id);
        if (before !== after) this.reportPresence(roomId, user.id, after);
        return;
      }
      case "ping":
        // Shards answer their sockets' pings themselves.
        if (!(peer instanceof ShardSocket)) peer.send(PONG);
        return;
      case "react": {
        const result = await this.chat.react(roomId, user, frame.id, frame.emoji, frame.on);
        if (!result.ok) outbox.sendTo(peer, { type: "error", code: result.code, message: result.message });
        return;
      }
    }
  }

  // ---- Helpers -----------------------------------------------------------------------------

  /**
   * A user at the socket cap in this room (its own sockets and its shards' together) loses their
   * oldest socket to the new one.
   */
  private closeOldestBeyondCap(userId: string): void {
    const { connections } = this.p;
    const cap = this.p.config.maxSocketsPerRoom;
    const reason = `more than ${cap} sockets in this room: closing the oldest`;
    for (;;) {
      const far = this.shards.sockets.socketsOf(userId);
      if (connections.socketsOf(userId).length + far.length < cap) return;
      const near = connections.oldestOf(userId);
      const nearSince = near ? (connections.get(near)?.since ?? 0) : Infinity;
      const farOldest = far.reduce<ShardSocket | undefined>((a, b) => (!a || b.since < a.since ? b : a), undefined);
      // Quietly: the user stays online through the new socket, so no presence change is sent.
      if (farOldest && farOldest.since < nearSince) {
        log.info({ msg: "socket closed: over the socket cap", closedRequestId: farOldest.requestId, shard: farOldest.shard });
        this.p.outbox.flush();
        this.shards.links.close(farOldest.shard, farOldest.id, 4008, reason);
        this.shards.sockets.remove(farOldest.id);
        continue;
      }
      log.info({ msg: "socket closed: over the socket cap", closedRequestId: connections.get(near!)?.requestId });
      try {
        near!.close(4008, reason);
      } catch {
        // already closing
      }
      connections.remove(near!);
    }
  }

  /** The newest messages for `welcome`, consistent with `lastSeq` at the moment of joining. */
  private async recentMessages(roomId: string): Promise<Message[]> {
    for (;;) {
      const last = this.p.store.lastSeq;
      const recent = await this.p.history.range(roomId, last - RECENT_ON_WELCOME + 1, last);
      if (this.p.store.lastSeq === last) return recent;
    }
  }

  /**
   * In a direct room: messages up to `seq` reached the user. The other person's messages that
   * this moves from `sent` to `delivered` (the newest of them) go out again as `updated`.
   */
  private async delivered(roomId: string, userId: string, seq: number): Promise<void> {
    const peer = this.p.receipts.peerOf(userId);
    if (peer === null) return;
    const before = this.p.reads.deliveredTo(userId);
    if (!this.p.reads.deliver(userId, seq) || seq <= before) return;
    const changed = await this.p.history.range(roomId, Math.max(before + 1, seq - RECENT_ON_WELCOME + 1), seq);
    for (const message of changed) {
      if (message.author.id === peer && message.status === "delivered") this.p.outbox.broadcast({ type: "updated", message });
    }
  }

  /**
   * Closes a removed member's sockets with 1008. The close frame leaves at once. Chromium fires
   * `close` about 2 s later (it ends the connection itself); a client that waits for the server to
   * end the TCP connection, as Node's `ws` does, waits until the room leaves memory: 10 s after
   * its last event, longer while it stays busy. The same holds for every close the room starts.
   *
   * Why: with the Hibernation API, workerd ends the connection when it releases the room's end of
   * the socket, and it releases it at once only when the room's close frame goes out after the
   * client's (a close the client started, echoed in webSocketClose). After a close the room
   * started, the client's answer reaches webSocketClose but nothing releases the socket until
   * the object is evicted, and no call is left to the room (close() again is ignored, send()
   * throws). Neither web_socket_auto_reply_to_close nor a later compatibility date changes this
   * (tried with workerd 1.20260426 and 1.20261023, compatibility date 2026-10-01): the flag only
   * covers sockets accepted with accept(). test/node/close.test.ts pins what clients see.
   */
  private evict(userId: string): void {
    const sockets: Peer[] = [...this.p.connections.socketsOf(userId), ...this.shards.sockets.socketsOf(userId)];
    if (sockets.length > 0) log.info({ msg: "removed member's sockets closed", removedUserId: userId, sockets: sockets.length });
    for (const peer of sockets) this.closePeer(peer, 1008, "removed from the room");
  }

  /** Closes a socket, here or on its shard, after whatever is queued for it, and counts it out. */
  private closePeer(peer: Peer, code: number, reason: string): void {
    this.p.outbox.flush();
    if (peer instanceof ShardSocket) {
      this.shards.links.close(peer.shard, peer.id, code, reason);
    } else {
      try {
        peer.close(code, reason);
      } catch {
        // already closing
      }
    }
    this.leave(peer);
  }

  private leave(peer: Peer): void {
    const { typing } = this.p;
    const left = peer instanceof ShardSocket ? this.shards.sockets.remove(peer.id) : this.p.connections.remove(peer);
    if (!left) return;
    const { before, after } = left;
    const user = "socket" in left ? left.socket.user : left.user;
    this.p.stats.changed();
    if (after === "offline" && typing.stop(user.id)) this.broadcastTyping(user.id, false, user.name);
    if (after !== before && this.roomId !== null) this.reportPresence(this.roomId, user.id, after);
  }

  /** The user's status here changed: their object combines it into their global presence. */
  private reportPresence(roomId: string, userId: string, status: PresenceStatus): void {
    this.ctx.waitUntil(
      userStub(this.env, userId)
        .roomPresence(userId, roomId, status)
        .catch((error: unknown) => log.warn({ msg: "presence report failed", userId, error })),
    );
  }

  private broadcastTyping(userId: string, on: boolean, name?: string): void {
    this.p.stats.changed();
    name ??= this.p.connections.presence.nameOf(userId) ?? userId;
    // Everyone but the typist's own sockets (on shards too: the stream names whom to leave out).
    this.p.outbox.broadcast({ type: "typing", userId, name, on }, userId);
  }

  /** Presence changes that leave together (src/room/presence.ts says when): one send per socket. */
  private announcePresence(changes: PresenceChange[]): void {
    this.p.outbox.broadcastAll(changes.map(({ userId, name, status, onlineCount }) => ({ type: "presence", userId, name, status, onlineCount })));
  }

  /** Remembers which room this object serves (its name); the community room sets itself up. */
  private bind(roomId: string): void {
    if (this.roomId === null) {
      this.p.store.setMeta("roomId", roomId);
      this.roomId = roomId;
    } else if (this.roomId !== roomId) {
      throw new Error(`room object for ${this.roomId} asked to serve ${roomId}`);
    }
    if (roomId === "community" && this.p.membership.info === null) {
      const now = new Date().toISOString();
      this.p.membership.initialize({ kind: "community", title: "Community", createdBy: null, createdAt: now }, []);
    }
  }
}
