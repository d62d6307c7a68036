/**
 * Bench baselines that run in the same workerd as the project:
 *
 * - do-min (`/min/room/:id`): accept a hibernatable socket, and for each `send` build the
 *   message, ack the sender, and loop over `ctx.getWebSockets()` sending one string. No storage,
 *   no auth, no validation beyond JSON.parse.
 * - do-sql (`/sql/room/:id`): do-min plus one SQLite insert per message (in the DO's own storage).
 *
 * Both speak the project's JSON frames (welcome, ack, message) so the load generator treats
 * every target alike. `?user=` names the socket's user (no token: these are baselines).
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

class MinRoom extends DurableObject<Env> {
  protected seq = 0;
  protected roomId = "";

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

  protected store(_message: Record<string, unknown>): void {}

  async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    if (typeof data !== "string") return;
    let frame: { type?: string; clientId?: string; text?: string };
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type !== "send" || typeof frame.clientId !== "string" || typeof frame.text !== "string") return;
    const att = ws.deserializeAttachment() as Att & { roomId: string };
    if (!this.roomId) this.roomId = att.roomId;
    if (this.seq === 0) this.seq = this.currentSeq();
    const message = buildMessage({
      roomId: this.roomId,
      seq: ++this.seq,
      clientId: frame.clientId,
      author: { id: att.id, name: att.name },
      text: frame.text,
    });
    this.store(message);
    ws.send(JSON.stringify({ type: "ack", clientId: message.clientId, id: message.id, seq: message.seq, createdAt: message.createdAt }));
    const json = JSON.stringify({ type: "message", message });
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
      author_name TEXT NOT NULL, text TEXT NOT NULL, created_at TEXT NOT NULL)`);
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
