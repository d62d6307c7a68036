/**
 * Process B's Worker ("shard-b"): a Shard object holding client sockets and delivering frames
 * to them, reachable from process A through every mechanism the experiment compares:
 *
 *   Shard (Durable Object)  RPC deliver(frame), fetch POST /deliver, a WebSocket upgrade from a
 *                           client (hibernatable, tag "client"), and a persistent "link" socket
 *                           from a room in A: every string on it is a frame to deliver, answered
 *                           with "ok <n>" once delivered.
 *   ShardApi (entrypoint)   deliver(name, frame): the same through B's own Worker (service binding)
 *   default fetch           /shard/<name>/<op> → that shard's fetch (clients, plain HTTP from A, links)
 *
 * Process A's Worker (room.js) imports this module too, for the same-process baseline.
 */
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";

export class Shard extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    const op = url.pathname.split("/")[3] ?? "";
    if (request.headers.get("Upgrade") === "websocket") {
      const pair = new WebSocketPair();
      const link = op === "link";
      this.ctx.acceptWebSocket(pair[1], [link ? "link" : "client"]);
      if (!link) pair[1].send(JSON.stringify({ type: "welcome", via: url.searchParams.get("via") ?? "?" }));
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    if (op === "deliver") return new Response(String(this.deliver(await request.text())));
    if (op === "count") return new Response(String(this.ctx.getWebSockets("client").length));
    return new Response("not found", { status: 404 });
  }

  /** Sends the frame to every client socket of this shard; returns how many. */
  deliver(frame) {
    const sockets = this.ctx.getWebSockets("client");
    for (const ws of sockets) ws.send(frame);
    return sockets.length;
  }

  webSocketMessage(ws, message) {
    if (this.ctx.getTags(ws).includes("link")) ws.send(`ok ${this.deliver(message)}`);
  }

  webSocketClose(ws, code) {
    ws.close(code, "bye");
  }
}

export class ShardApi extends WorkerEntrypoint {
  deliver(name, frame) {
    return this.env.SHARD.get(this.env.SHARD.idFromName(name)).deliver(frame);
  }
}

export default {
  fetch(request, env) {
    const [, kind, name] = new URL(request.url).pathname.split("/");
    if (kind !== "shard" || !name) return new Response("not found", { status: 404 });
    return env.SHARD.get(env.SHARD.idFromName(name)).fetch(request);
  },
};
