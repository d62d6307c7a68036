/**
 * raw: a plain `ws` broadcast server in Node, the ceiling for this machine. It speaks the
 * project's frames (welcome, ack, message) on the same path shape (`/parties/room/:id?user=`),
 * serialises each message once and sends it to every socket of the room, one send each.
 *
 * Run by bench/run.mjs with an IPC channel: it reports `{ ready, port }` and answers `gc`
 * (it is started with --expose-gc so the memory bench can measure settled heaps).
 */
import { obeyRunner } from "./control.mjs";
import { buildMessage } from "./message.mjs";
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const rooms = new Map();

function roomOf(id) {
  let room = rooms.get(id);
  if (!room) rooms.set(id, (room = { id, seq: 0, sockets: new Set() }));
  return room;
}

const http = createServer((_req, res) => {
  res.writeHead(404).end("not found");
});
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 64 * 1024 });

wss.on("connection", (ws, req) => {
  const url = new URL(req.url ?? "/", "http://x");
  const [, , party, roomId] = url.pathname.split("/");
  if (party !== "room" || !roomId) return ws.close(1008, "bad path");
  const user = url.searchParams.get("user") ?? "anon";
  const room = roomOf(roomId);
  room.sockets.add(ws);
  const author = { id: user, name: user };
  ws.send(
    JSON.stringify({ type: "welcome", room: { id: roomId }, you: { ...author, kind: "member" }, lastSeq: room.seq, online: [], recent: [] }),
  );
  ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    let frame;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (frame.type === "ping") return ws.send('{"type":"pong"}');
    if (frame.type !== "send" || typeof frame.clientId !== "string" || typeof frame.text !== "string") return;
    const message = buildMessage({ roomId, seq: ++room.seq, clientId: frame.clientId, author, text: frame.text });
    ws.send(JSON.stringify({ type: "ack", clientId: message.clientId, id: message.id, seq: message.seq, createdAt: message.createdAt }));
    const json = JSON.stringify({ type: "message", message });
    for (const s of room.sockets) if (s.readyState === 1) s.send(json);
  });
  ws.on("close", () => room.sockets.delete(ws));
  ws.on("error", () => room.sockets.delete(ws));
});

http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const port = http.address().port;
  if (process.send) process.send({ ready: true, port });
  else console.log(`raw ws server on ws://127.0.0.1:${port}`);
});

obeyRunner();
