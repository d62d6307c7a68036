/**
 * socket.io: Socket.IO 4 with rooms and acks, as most chat backends use it. Sockets join the
 * room named in the handshake query; a `send` event is answered through the Socket.IO ack
 * callback with the project's `ack` frame, and the `message` frame is emitted to the room
 * (Socket.IO encodes a broadcast once and writes it to each socket). WebSocket transport only,
 * no per-message compression (Socket.IO's default), the same as the other targets.
 *
 * Run by bench/run.mjs with an IPC channel: it reports `{ ready, port }` and answers `gc`.
 */
import { obeyRunner } from "./control.mjs";
import { buildMessage } from "./message.mjs";
import { createServer } from "node:http";
import { Server } from "socket.io";

const seqs = new Map();

const http = createServer();
const io = new Server(http, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 64 * 1024,
  // The default 20 s ping would add traffic to idle-connection memory runs; keep it, it is real.
});

io.on("connection", (socket) => {
  const roomId = String(socket.handshake.query.room ?? "room");
  const user = String(socket.handshake.query.user ?? "anon");
  const author = { id: user, name: user };
  socket.join(roomId);
  socket.emit("frame", {
    type: "welcome",
    room: { id: roomId },
    you: { ...author, kind: "member" },
    lastSeq: seqs.get(roomId) ?? 0,
    online: [],
    recent: [],
  });
  socket.on("send", (frame, ack) => {
    if (!frame || frame.type !== "send" || typeof frame.clientId !== "string" || typeof frame.text !== "string") return;
    const seq = (seqs.get(roomId) ?? 0) + 1;
    seqs.set(roomId, seq);
    const message = buildMessage({ roomId, seq, clientId: frame.clientId, author, text: frame.text });
    if (typeof ack === "function") ack({ type: "ack", clientId: message.clientId, id: message.id, seq, createdAt: message.createdAt });
    io.to(roomId).emit("frame", { type: "message", message });
  });
});

http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const port = http.address().port;
  if (process.send) process.send({ ready: true, port });
  else console.log(`socket.io server on http://127.0.0.1:${port}`);
});

obeyRunner();
