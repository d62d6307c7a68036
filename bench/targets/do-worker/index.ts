/**
 * Bench baselines that run in the same workerd as the project:
 *
 * - do-min (`/min/room/:id`): accept a hibernatable socket, and for each `send` build the
 *   message, ack the sender, and loop over `ctx.getWebSockets()` sending one string. A `react`
 *   changes the message's reactions in memory and broadcasts `updated`; a `read` that moves the
 *   user's position forward broadcasts `read`. No storage, no auth, no validation beyond
 *   JSON.parse.
 * - do-sql (`/sql/room/:id`): do-min plus one SQLite write per event: the message insert, the
 *   reactions column update, the read position upsert (in the DO's own storage).
 *
 * Both speak the project's JSON frames (welcome, ack, message, updated, read) so the load
 * generator treats every target alike. `?user=` names the socket's user (no token: these are baselines).
 * `GET /stats` reports how many room objects were constructed in this isolate, which the
 * memory bench uses to see that an idle room was evicted (hibernated) and woke up again.
 */
import { DurableObject } from "cloudflare:workers";
// @ts-expect-error: a plain .mjs module shared with the Node targets
import { buildMessage } from "../message.mjs";

interface Env {
  MIN: DurableObjectNamespace;
  SQL: DurableObjectNamespace;
}

/** Counts constructions across all room objects of this isolate (module state is shared). */
let constructed = 0;

interface Att {
  id: string;
  name: string;
}

type Reactions = Record<string, string[]>;
type Message = Record<string, unknown> & { id: string; seq: number; author: Att; reactions: Reactions };
type Frame = { type?: string; clientId?: string; text?: string; id?: string; emoji?: string; on?: boolean; seq?: number };

/** Messages kept in memory for reactions (a room reacts to its recent messages). */
const KEEP_MESSAGES = 1000;

class MinRoom extends DurableObject<Env> {
  protected seq = 0;
  protected roomId = "";
  private readonly messages = new Map<string, Message>();
  private readonly reads = new Map<string, number>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    constructed++;
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    this.roomId = url.pathname.split("/")[3] ?? "room";
    const user = url.searchParams.get("user") ?? "anon";
    const pair = new WebSocketPair();
    const client = pair[0];
    const server = pair[1];
    this.ctx.acceptWebSocket(server);
    const att: Att = { id: user, name: user };
    server.serializeAttachment({ ...att, roomId: this.roomId });
    server.send(
      JSON.stringify({
        type: "welcome",
        room: { id: this.roomId },
        you: { ...att, kind: "member" },
        lastSeq: this.currentSeq(),
        online: [],
        recent: [],
      }),
    );
    return new Response(null, { status: 101, webSocket: client });
  }

  protected currentSeq(): number {
    return this.seq;
  }

  protected store(_message: Message): void {}

  /** A message of this room by id; do-sql reads it back from storage after the object restarted. */
  protected load(_id: string): Message | null {
    return null;
  }

  protected storeReactions(_message: Message): void {}

  /** Moves the user's read position to `seq` if that is forward; whether it moved. */
  protected storeRead(userId: string, seq: number): boolean {
    if (seq <= (this.reads.get(userId) ?? 0)) return false;
    this.reads.set(userId, seq);
    return true;
  }

  async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    if (typeof data !== "string") return;
    let frame: Frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    const att = ws.deserializeAttachment() as Att & { roomId: string };
    if (!this.roomId) this.roomId = att.roomId;
    if (frame.type === "send" && typeof frame.clientId === "string" && typeof frame.text === "string") {
      this.onSend(ws, att, frame.clientId, frame.text);
    } else if (frame.type === "react" && typeof frame.id === "string" && typeof frame.emoji === "string") {
      this.onReact(att, frame.id, frame.emoji, frame.on === true);
    } else if (frame.type === "read" && typeof frame.seq === "number") {
      if (this.storeRead(att.id, frame.seq)) this.broadcast(JSON.stringify({ type: "read", userId: att.id, seq: frame.seq }));
    }
  }

  private onSend(ws: WebSocket, att: Att, clientId: string, text: string): void {
    if (this.seq === 0) this.seq = this.currentSeq();
    const message = buildMessage({
      roomId: this.roomId,
      seq: ++this.seq,
      clientId,
      author: { id: att.id, name: att.name },
      text,
    }) as Message;
    this.store(message);
    this.remember(message);
    ws.send(JSON.stringify({ type: "ack", clientId: message.clientId, id: message.id, seq: message.seq, createdAt: message.createdAt }));
    this.broadcast(JSON.stringify({ type: "message", message }));
  }

  /**
   * One reaction per user per message: the user's other emoji goes, `on` adds this one. Every
   * react is broadcast (no check whether anything changed): the bench makes each one a change,
   * and do-min forgets its reactions when the object is evicted between rounds.
   */
  private onReact(att: Att, id: string, emoji: string, on: boolean): void {
    // A message do-min no longer holds (the object was evicted) gets a stand-in of the same shape.
    const message = this.messages.get(id) ?? this.load(id) ?? ({ ...buildMessage({ roomId: this.roomId, seq: 0, clientId: null, author: att, text: "" }), id } as Message);
    this.remember(message);
    const reactions: Reactions = {};
    for (const [e, users] of Object.entries(message.reactions)) {
      const rest = users.filter((u) => u !== att.id);
      if (rest.length) reactions[e] = rest;
    }
    if (on) (reactions[emoji] ??= []).push(att.id);
    message.reactions = reactions;
    this.storeReactions(message);
    this.broadcast(JSON.stringify({ type: "updated", message }));
  }

  private remember(message: Message): void {
    this.messages.set(message.id, message);
    if (this.messages.size > KEEP_MESSAGES) this.messages.delete(this.messages.keys().next().value!);
  }

  private broadcast(json: string): void {
    for (const s of this.ctx.getWebSockets()) {
      try {
        s.send(json);
      } catch {
        // closing
      }
    }
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }
}

export class MinRoomDO extends MinRoom {}

export class SqlRoomDO extends MinRoom {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS messages (
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL, client_id TEXT, author_id TEXT NOT NULL,
      author_name TEXT NOT NULL, text TEXT NOT NULL, created_at TEXT NOT NULL,
      reactions TEXT NOT NULL DEFAULT '{}')`);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS reads (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID");
  }

  protected override currentSeq(): number {
    if (this.seq === 0) {
      const row = this.ctx.storage.sql.exec<{ s: number | null }>("SELECT max(seq) AS s FROM messages").one();
      this.seq = row.s ?? 0;
    }
    return this.seq;
  }

  protected override store(m: Record<string, unknown> & { author: Att }): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO messages (seq, id, client_id, author_id, author_name, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      m.seq as number,
      m.id as string,
      m.clientId as string,
      m.author.id,
      m.author.name,
      m.text as string,
      m.createdAt as string,
    );
  }

  /** Only after the object restarted (the map is empty then), so no index on id: inserts stay as they were. */
  protected override load(id: string): Message | null {
    const row = this.ctx.storage.sql
      .exec<{ seq: number; client_id: string | null; author_id: string; author_name: string; text: string; created_at: string; reactions: string }>(
        "SELECT seq, client_id, author_id, author_name, text, created_at, reactions FROM messages WHERE id = ?",
        id,
      )
      .toArray()[0];
    if (!row) return null;
    const m = buildMessage({ roomId: this.roomId, seq: row.seq, clientId: row.client_id, author: { id: row.author_id, name: row.author_name }, text: row.text });
    return { ...m, id, createdAt: row.created_at, reactions: JSON.parse(row.reactions) } as Message;
  }

  protected override storeReactions(m: Message): void {
    this.ctx.storage.sql.exec("UPDATE messages SET reactions = ? WHERE seq = ?", JSON.stringify(m.reactions), m.seq);
  }

  protected override storeRead(userId: string, seq: number): boolean {
    const cursor = this.ctx.storage.sql.exec(
      "INSERT INTO reads (user_id, seq) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > reads.seq",
      userId,
      seq,
    );
    return cursor.rowsWritten > 0;
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const [, kind, party, roomId] = url.pathname.split("/");
    if (kind === "stats") return Response.json({ constructed });
    if ((kind === "min" || kind === "sql") && party === "room" && roomId) {
      if (request.headers.get("upgrade") !== "websocket") return new Response("expected websocket", { status: 426 });
      const ns = kind === "min" ? env.MIN : env.SQL;
      return ns.get(ns.idFromName(roomId)).fetch(request);
    }
    return new Response("not found", { status: 404 });
  },
};
