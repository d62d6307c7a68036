/**
 * socket.io: Socket.IO 4 with rooms and acks, as most chat backends use it. Sockets join the
 * room named in the handshake query; a `send` event is answered through the Socket.IO ack
 * callback with the project's `ack` frame, and the `message` frame is emitted to the room
 * (Socket.IO encodes a broadcast once and writes it to each socket). WebSocket transport only,
 * no per-message compression (Socket.IO's default), the same as the other targets.
 *
 * socket.io-cluster: the same server as one of several processes, with SIO_REDIS_URL set: the
 * rooms span the processes through `@socket.io/redis-adapter` (a broadcast is published to Redis
 * once and each process writes it to its own sockets of the room), and a room's sequence numbers
 * come from one Redis INCR per message, so they stay one sequence across the processes (as the
 * single process's counter is). The design Socket.IO documents for scaling out.
 *
 * Run by bench/run.mjs with an IPC channel: it reports `{ ready, port }` and answers `gc`.
 */
import { obeyRunner } from "./control.mjs";
import { buildMessage } from "./message.mjs";
import { createServer } from "node:http";
import { Server } from "socket.io";

const REDIS_URL = process.env.SIO_REDIS_URL;

/** The room's next sequence number (and the last one, for the welcome): in memory, or in Redis for the cluster. */
const seqs = new Map();
const local = {
  next: async (roomId) => {
    const seq = (seqs.get(roomId) ?? 0) + 1;
    seqs.set(roomId, seq);
    return seq;
  },
  last: async (roomId) => seqs.get(roomId) ?? 0,
};

const http = createServer();
const io = new Server(http, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 64 * 1024,
  // The default 20 s ping would add traffic to idle-connection memory runs; keep it, it is real.
});

let counter = local;
if (REDIS_URL) {
  const { Redis } = await import("ioredis");
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const pub = new Redis(REDIS_URL);
  const sub = pub.duplicate();
  io.adapter(createAdapter(pub, sub));
  counter = {
    next: (roomId) => pub.incr(`seq:${roomId}`),
    last: async (roomId) => Number((await pub.get(`seq:${roomId}`)) ?? 0),
  };
}

io.on("connection", async (socket) => {
  const roomId = String(socket.handshake.query.room ?? "room");
  const user = String(socket.handshake.query.user ?? "anon");
  const author = { id: user, name: user };
  socket.on("send", async (frame, ack) => {
    if (!frame || frame.type !== "send" || typeof frame.clientId !== "string" || typeof frame.text !== "string") return;
    const seq = await counter.next(roomId);
    const message = buildMessage({ roomId, seq, clientId: frame.clientId, author, text: frame.text });
    if (typeof ack === "function") ack({ type: "ack", clientId: message.clientId, id: message.id, seq, createdAt: message.createdAt });
    io.to(roomId).emit("frame", { type: "message", message });
  });
  socket.join(roomId);
  socket.emit("frame", {
    type: "welcome",
    room: { id: roomId },
    you: { ...author, kind: "member" },
    lastSeq: await counter.last(roomId),
    online: [],
    recent: [],
  });
});

http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const port = http.address().port;
  if (process.send) process.send({ ready: true, port });
  else console.log(`socket.io server on http://127.0.0.1:${port}`);
});

obeyRunner();
