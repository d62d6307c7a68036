/**
 * Open-loop load generator, one process per group of sockets (forked by bench/run.mjs, driven
 * over IPC). Every target speaks the same JSON frames; Socket.IO carries them as event
 * payloads. Messages leave on a schedule fixed before the run (never waiting for acks), and
 * their text carries the scheduled send time, so latency = receive time − scheduled time on
 * the machine's monotonic clock (shared by all processes). Histograms are HDR, in µs.
 *
 * Commands (IPC `{ id, cmd, ... }`, answered with `{ id, ok, ... }`):
 *   connect  { target, base, bases?, room, users: [{ id, token? }], count, concurrency }
 *   arm      { tag }                     count frames of this step only, reset histograms
 *   send     { tag, rate, count, startUs, textBytes, mix?, mention? }   (the sender process)
 *   collect  { tag, expected, deadlineUs, plan? }  wait for full delivery (or the deadline)
 *   recentAcks { n }                     ids of the newest messages acked in the last step
 *
 * With `mix` (lib/mix.mjs) the actions are sends, reacts and reads instead of sends only; every
 * socket then also counts `updated` and `read` frames as deliveries, and `error` frames.
 *   closeSome { count }                  close the newest `count` sockets
 *   closeAll {}                          close every socket
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import hdr from "hdr-histogram-js";
import { io } from "socket.io-client";
import WebSocket from "ws";
import { plan as mixPlan, scheduleByKind } from "./mix.mjs";

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const newHist = () =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });

const MARK = /bench (\w+) (\d+) (\d+)/g;
const ACK = /"type":"ack","clientId":"(\w+)-(\d+)"(?:,"id":"([^"]+)")?/g;
/** Frames that are deliveries of a react or a read; they carry no mark, so they are matched by order. */
const UNMARKED = /"type":"(updated|read)"/g;
const UNMARKED_KIND = { updated: "react", read: "read" };
const ERROR = /"type":"error"(?:.*?"message":"((?:[^"\\]|\\.)*)")?/g;

let conns = [];
let tag = null;
let latency = newHist(); // delivery latency on this process's sockets
let ackLatency = newHist();
/**
 * The acks of each sender's first two sends of the step: after a pause, where anything a
 * send waits for that later sends do not (a rate limit's first store call) shows.
 */
let ackFirstLatency = newHist();
let sendLag = newHist();
let acks = 0;
let stale = 0;
/** Whether this step is a mix (only then do `updated`, `read` and `error` frames count). */
let mixing = false;
let errors = 0;
let firstError = null;
/** Ids of the messages acked in this step, by index (seeding: what the mixes react to). */
let ackIds = new Map();
/** Frames (socket messages) that carried at least one message of this step. */
let frames = 0;
let loopDelay = null;
let cpuAtArm = process.cpuUsage();
let armedAt = nowUs();

class Conn {
  constructor() {
    this.count = 0;
    /** Arrival times (µs) of this step's `updated` and `read` frames, in order. */
    this.unmarked = { react: [], read: [] };
    this.welcomed = false;
    this.onWelcome = null;
  }

  /** One text frame (possibly a `batch`) arrived at `t`. */
  onText(text, t) {
    if (!this.welcomed && text.includes('"type":"welcome"')) {
      this.welcomed = true;
      this.onWelcome?.();
    }
    if (tag === null) return;
    if (text.includes('"type":"ack"')) {
      ACK.lastIndex = 0;
      for (let m; (m = ACK.exec(text)); ) if (m[1] === tag) this.ackArrived(Number(m[2]), t, m[3]);
    }
    let carried = false;
    if (mixing) {
      UNMARKED.lastIndex = 0;
      for (let m; (m = UNMARKED.exec(text)); ) {
        carried = true;
        this.count++;
        this.unmarked[UNMARKED_KIND[m[1]]].push(t);
      }
      if (text.includes('"type":"error"')) {
        ERROR.lastIndex = 0;
        for (let m; (m = ERROR.exec(text)); ) {
          errors++;
          firstError ??= m[1] ?? text.slice(0, 200);
        }
      }
    }
    MARK.lastIndex = 0;
    for (let m; (m = MARK.exec(text)); ) {
      if (m[1] !== tag) {
        stale++;
        continue;
      }
      carried = true;
      this.count++;
      latency.recordValue(Math.max(1, t - Number(m[3])));
    }
    if (carried) frames++;
  }

  ackArrived(k, t, id) {
    acks++;
    if (id) ackIds.set(k, id);
    const sched = schedule.get(k);
    if (sched === undefined) return;
    ackLatency.recordValue(Math.max(1, t - sched));
    if (k < 2 * conns.length) ackFirstLatency.recordValue(Math.max(1, t - sched));
  }
}

class WsConn extends Conn {
  constructor(url) {
    super();
    this.ws = new WebSocket(url, { perMessageDeflate: process.env.BENCH_DEFLATE === "1", handshakeTimeout: 60_000 });
    this.ws.on("message", (data, isBinary) => {
      if (!isBinary) this.onText(data.toString("latin1"), nowUs());
    });
    this.opened = new Promise((resolve, reject) => {
      this.onWelcome = resolve;
      this.ws.once("error", reject);
      this.ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once("close", (code) => reject(new Error(`closed ${code}`)));
    });
    this.ws.on("error", () => {});
  }
  sendMessage(clientId, text) {
    this.ws.send(JSON.stringify({ type: "send", clientId, text }));
  }
  sendFrame(frame) {
    this.ws.send(JSON.stringify(frame));
  }
  close() {
    try {
      this.ws.terminate();
    } catch {}
  }
}

class SioConn extends Conn {
  constructor(base, room, user) {
    super();
    this.socket = io(base, {
      transports: ["websocket"],
      query: { room, user },
      forceNew: true,
      reconnection: false,
      timeout: 60_000,
    });
    this.socket.on("frame", (f) => {
      const t = nowUs();
      if (f?.type === "welcome") return this.onText('"type":"welcome"', t);
      if (f?.type === "message") this.onText(f.message.text, t);
    });
    this.opened = new Promise((resolve, reject) => {
      this.onWelcome = resolve;
      this.socket.once("connect_error", reject);
    });
  }
  sendMessage(clientId, text, k) {
    this.socket.emit("send", { type: "send", clientId, text }, () => {
      if (tag !== null) this.ackArrived(k, nowUs());
    });
  }
  sendFrame() {
    throw new Error("mixed traffic (react, read) is not implemented for socket.io");
  }
  close() {
    this.socket.disconnect();
  }
}

function urlFor(target, base, room, user) {
  const ws = base.replace(/^http/, "ws");
  switch (target) {
    case "ours":
    case "ours-before":
    // The project with its room's sockets spread over shards in a second workerd (largeroom).
    case "ours-sharded":
    // The project with other settings, beside ours in the same workerd (the limits section).
    case "limits-off":
    case "limits-embedded":
    case "limits-off-upstash":
    case "limits-upstash":
      return `${ws}/parties/room/${room}?token=${encodeURIComponent(user.token)}`;
    case "do-min":
      return `${ws}/min/room/${room}?user=${encodeURIComponent(user.id)}`;
    case "do-sql":
      return `${ws}/sql/room/${room}?user=${encodeURIComponent(user.id)}`;
    case "raw":
      return `${ws}/parties/room/${room}?user=${encodeURIComponent(user.id)}`;
    default:
      throw new Error(`unknown target ${target}`);
  }
}

/** Targets spoken to through socket.io-client. */
const SOCKET_IO = new Set(["socket.io", "socket.io-cluster"]);

/**
 * `bases`: several entry points of one target (a cluster's processes); the sockets take them in
 * turn, counted over this process's sockets, as a sticky load balancer spreads its clients.
 */
async function connect({ target, base, bases = null, room, users, count, concurrency = 64 }) {
  const started = nowUs();
  const fresh = [];
  const offset = conns.length;
  let next = 0;
  let failed = 0;
  let firstError = null;
  async function worker() {
    while (next < count) {
      const i = next++;
      const user = users[i % users.length];
      const at = bases ? bases[(offset + i) % bases.length] : base;
      const conn = SOCKET_IO.has(target) ? new SioConn(at, room, user.id) : new WsConn(urlFor(target, at, room, user));
      try {
        await withTimeout(conn.opened, 60_000, "welcome");
        fresh.push(conn);
      } catch (err) {
        failed++;
        firstError ??= String(err?.message ?? err);
        conn.close();
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  conns = conns.concat(fresh);
  return { connected: fresh.length, failed, firstError, total: conns.length, ms: (nowUs() - started) / 1000 };
}

function withTimeout(p, ms, what) {
  return Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: timeout`)), ms).unref())]);
}

function arm(msg) {
  tag = msg.tag;
  mixing = Boolean(msg.mix);
  for (const c of conns) {
    c.count = 0;
    c.unmarked = { react: [], read: [] };
  }
  latency = newHist();
  ackLatency = newHist();
  ackFirstLatency = newHist();
  sendLag = newHist();
  acks = 0;
  stale = 0;
  errors = 0;
  firstError = null;
  frames = 0;
  schedule.clear();
  ackIds = new Map();
  loopDelay?.disable();
  loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  cpuAtArm = process.cpuUsage();
  armedAt = nowUs();
  return {};
}

/** Scheduled send time (µs) of each message of this step, by index, for ack latency. */
const schedule = new Map();

/**
 * `mention` ({ every, ids }): every `every`-th message (k = 0, every, 2·every, …) also @mentions
 * one of `ids`, the next one each time (the notify section).
 */
function send({ tag: t, rate, count, startUs, textBytes = 64, mix = null, mention = null }) {
  const pad = "x".repeat(Math.max(0, textBytes - 32));
  const at = (k) => (mention && k % mention.every === 0 ? ` @${mention.ids[(k / mention.every) % mention.ids.length]}` : "");
  const sendMessage = (conn, k, sched) => conn.sendMessage(`${t}-${k}`, `bench ${t} ${k} ${sched} ${pad}${at(k)}`, k);
  const act = mix ? mixActions(count, mix, sendMessage) : (k, sched) => sendMessage(conns[k % conns.length], k, sched);
  let k = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const now = nowUs();
      while (k < count) {
        const sched = startUs + Math.round((k * 1e6) / rate);
        if (sched > now) break;
        schedule.set(k, sched);
        act(k, sched);
        sendLag.recordValue(Math.max(1, now - sched));
        k++;
      }
      if (k >= count) return resolve({ sent: k, ms: (nowUs() - startUs) / 1000 });
      const waitMs = (startUs + (k * 1e6) / rate - nowUs()) / 1000;
      setTimeout(tick, Math.max(1, Math.min(50, Math.floor(waitMs))));
    };
    const first = (startUs - nowUs()) / 1000;
    setTimeout(tick, Math.max(0, first));
  });
}

/** What each socket sent so far across steps, so that every react and read changes something. */
const reactionOf = new Map(); // `${socket}|${messageId}` → the emoji that is on, or absent
const readPos = new Map(); // socket → the seq it last read
const EMOJI = ["👍", "❤️", "😂", "🎉"];

/**
 * The actions of a mixed step: sends from the first `mix.writers` sockets, reacts and reads
 * from the rest. A react turns the socket's reaction on a seeded message on (rotating the
 * emoji) or off again; a read moves the socket's position one message further. The seeding
 * leaves enough messages in the room that no reader passes the newest one.
 */
function mixActions(count, { shares, writers, messages }, sendMessage) {
  const kinds = mixPlan(count, shares);
  const readers = conns.length - writers;
  const n = { send: 0, react: 0, read: 0 };
  return (k, sched) => {
    const kind = kinds[k];
    const i = n[kind]++;
    if (kind === "send") return sendMessage(conns[i % writers], k, sched);
    const socket = writers + (i % readers);
    if (kind === "read") {
      const seq = (readPos.get(socket) ?? 0) + 1;
      readPos.set(socket, seq);
      return conns[socket].sendFrame({ type: "read", seq });
    }
    const id = messages[Math.floor(i / readers) % messages.length];
    const key = `${socket}|${id}`;
    const on = reactionOf.get(key);
    if (on) reactionOf.delete(key);
    else reactionOf.set(key, EMOJI[i % EMOJI.length]);
    conns[socket].sendFrame({ type: "react", id, emoji: on ?? reactionOf.get(key), on: !on });
  };
}

/** Latency of the `updated` and `read` frames: the n-th one a socket got belongs to the n-th react/read. */
function recordUnmarked(plan) {
  const of = scheduleByKind(mixPlan(plan.count, plan.shares), plan.startUs, plan.rate);
  let unmatched = 0;
  for (const c of conns) {
    for (const [kind, times] of Object.entries(c.unmarked)) {
      const sched = of[kind] ?? [];
      times.forEach((t, n) => (n < sched.length ? latency.recordValue(Math.max(1, t - sched[n])) : unmatched++));
    }
  }
  return unmatched;
}

async function collect({ expected, deadlineUs, plan = null }) {
  for (;;) {
    let done = true;
    for (const c of conns) {
      if (c.count < expected) {
        done = false;
        break;
      }
    }
    if (done || nowUs() >= deadlineUs) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  let min = Infinity;
  let max = 0;
  let delivered = 0;
  for (const c of conns) {
    min = Math.min(min, c.count);
    max = Math.max(max, c.count);
    delivered += c.count;
  }
  const unmatched = plan ? recordUnmarked(plan) : 0;
  const cpu = process.cpuUsage(cpuAtArm);
  const wallUs = nowUs() - armedAt;
  const result = {
    errors,
    firstError,
    unmatched,
    sockets: conns.length,
    delivered,
    minPerSocket: conns.length ? min : 0,
    maxPerSocket: max,
    stale,
    acks,
    frames,
    latency: hdr.encodeIntoCompressedBase64(latency),
    ackLatency: hdr.encodeIntoCompressedBase64(ackLatency),
    ackFirstLatency: hdr.encodeIntoCompressedBase64(ackFirstLatency),
    sendLag: hdr.encodeIntoCompressedBase64(sendLag),
    loopDelayP99Ms: loopDelay ? loopDelay.percentile(99) / 1e6 : 0,
    cpuShare: (cpu.user + cpu.system) / Math.max(1, wallUs),
  };
  tag = null;
  return result;
}

/** Closes the last `count` sockets (the room shrinks). */
function closeSome({ count }) {
  const gone = conns.splice(Math.max(0, conns.length - count));
  for (const c of gone) c.close();
  return { closed: gone.length, total: conns.length };
}

function closeAll() {
  for (const c of conns) c.close();
  const n = conns.length;
  conns = [];
  return { closed: n };
}

function recentAcks({ n }) {
  const ks = [...ackIds.keys()].sort((a, b) => a - b).slice(-n);
  return { ids: ks.map((k) => ackIds.get(k)) };
}

const handlers = { connect, arm, send, collect, recentAcks, closeSome, closeAll };

process.on("message", async (msg) => {
  try {
    const result = await handlers[msg.cmd](msg);
    process.send({ id: msg.id, ok: true, ...result });
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on("disconnect", () => process.exit(0));
