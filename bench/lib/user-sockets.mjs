/**
 * User sockets (`/parties/user/:userId`, one "device" per user) for the notify section, in a
 * process of their own (forked through GenProcess) so their CPU is never counted as the
 * server's. Each `unread` frame a socket receives is one call from a room to that user's
 * object (src/room/unread.ts → User.unread, one device each), so counting them counts the calls.
 *
 * Commands (IPC `{ id, cmd, ... }`, answered with `{ id, ok, ... }`):
 *   connect  { base, users: [{ id, token }], concurrency }   one socket per user
 *   arm      {}        start counting frames from zero
 *   counts   {}        { unread, unreadByRoom, notifications, sockets, closed } since arm
 *   closeAll {}
 */
import WebSocket from "ws";

const UNREAD = /"type":"unread","roomId":"([^"]+)"/;

let sockets = [];
let closed = 0;
let unread = 0;
let unreadByRoom = {};
let notifications = 0;

function open(base, user) {
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/parties/user/${user.id}?token=${encodeURIComponent(user.token)}`, {
    handshakeTimeout: 60_000,
  });
  ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    const text = data.toString();
    const m = UNREAD.exec(text);
    if (m) {
      unread++;
      unreadByRoom[m[1]] = (unreadByRoom[m[1]] ?? 0) + 1;
    } else if (text.includes('"type":"notification"')) notifications++;
  });
  ws.on("error", () => {});
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      // A socket the server closes later (the device cap, an error) means the step lost a watcher.
      ws.once("close", () => closed++);
      resolve(ws);
    });
    ws.once("unexpected-response", (_req, res) => reject(new Error(`user ${user.id}: HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

async function connect({ base, users, concurrency = 32 }) {
  let next = 0;
  let failed = 0;
  let firstError = null;
  const worker = async () => {
    while (next < users.length) {
      const user = users[next++];
      try {
        sockets.push(await open(base, user));
      } catch (err) {
        failed++;
        firstError ??= String(err?.message ?? err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, users.length) }, worker));
  return { connected: sockets.length, failed, firstError };
}

function arm() {
  unread = 0;
  unreadByRoom = {};
  notifications = 0;
  closed = 0;
  return {};
}

const counts = () => ({ unread, unreadByRoom, notifications, sockets: sockets.length, closed });

function closeAll() {
  for (const ws of sockets) ws.terminate();
  const n = sockets.length;
  sockets = [];
  return { closed: n };
}

const handlers = { connect, arm, counts, closeAll };

process.on("message", async (msg) => {
  try {
    process.send({ id: msg.id, ok: true, ...(await handlers[msg.cmd](msg)) });
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on("disconnect", () => process.exit(0));
