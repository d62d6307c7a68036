/// <reference types="node" />
/**
 * A chat client that behaves like the browser client under a crashing server: it keeps every
 * send until its ack and resends it with the same clientId after each reconnect, catches up
 * with `sync` from the last seq it has, delivers messages once each in seq order, and
 * reconnects with jittered backoff. Everything it sees is recorded for the final checks.
 */
import WebSocket from "ws";

/** The parts of a message the checks compare. */
export interface Seen {
  id: string;
  seq: number;
  clientId: string | null;
  authorId: string;
  text: string;
}

export interface Ack {
  clientId: string;
  id: string;
  seq: number;
}

export interface Sent {
  clientId: string;
  text: string;
  /** How many times it went out on a socket. */
  attempts: number;
  ack: Ack | null;
  /** Dropped before its ack, as a closed tab drops what it had not sent yet. */
  abandoned: boolean;
}

export interface ClientOptions {
  baseUrl: string;
  roomId: string;
  userId: string;
  token: string;
  /** At most this many unacknowledged sends at a time. */
  maxInFlight: number;
  /** Deterministic jitter source. */
  random: () => number;
}

type Frame = { type: string; [key: string]: unknown };

interface WireMessage {
  id: string;
  seq: number;
  clientId: string | null;
  author: { id: string };
  text: string;
}

export class ChaosClient {
  readonly sent = new Map<string, Sent>();
  /** Messages delivered to the "UI": once each, in seq order. */
  readonly delivered: Seen[] = [];
  /** Everything received per seq, to catch one seq naming two different messages. */
  readonly problems: string[] = [];
  readonly errorCodes = new Map<string, number>();
  connects = 0;
  welcomes = 0;

  private ws: WebSocket | null = null;
  private welcomed = false;
  private closed = false;
  private lastSeq = 0;
  private syncing = false;
  private readonly ahead = new Map<number, Seen>();
  private readonly bySeq = new Map<number, Seen>();
  private readonly outbox: string[] = [];
  private counter = 0;
  private backoff = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private waiters: (() => void)[] = [];

  constructor(readonly options: ClientOptions) {}

  get lastContiguousSeq(): number {
    return this.lastSeq;
  }

  get inFlight(): number {
    return this.outbox.length;
  }

  get isOpen(): boolean {
    return this.welcomed;
  }

  start(): void {
    this.connect();
  }

  /** Queues a new message; it goes out now if connected, else after the next welcome. */
  send(): boolean {
    if (this.closed || this.outbox.length >= this.options.maxInFlight) return false;
    const n = this.counter++;
    const clientId = `${this.options.userId}-${n}-${Math.floor(this.options.random() * 1e9).toString(36)}`;
    const text = `${this.options.userId} says ${n} (${clientId})`;
    this.sent.set(clientId, { clientId, text, attempts: 0, ack: null, abandoned: false });
    this.outbox.push(clientId);
    if (this.welcomed) this.transmit(clientId);
    return true;
  }

  /** Forgets every unacknowledged send, like a tab closed while the server was down. */
  abandonPending(): number {
    const n = this.outbox.length;
    for (const clientId of this.outbox) this.sent.get(clientId)!.abandoned = true;
    this.outbox.length = 0;
    return n;
  }

  /** Asks for everything after the last delivered seq (as after a reconnect). */
  resync(): void {
    if (this.welcomed && !this.syncing) this.requestSync();
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.ws?.terminate();
    this.ws = null;
    this.wake();
  }

  /** Resolves when `check` holds, re-checking on every frame and at least every 200 ms. */
  async until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  // ---- internals ----

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private connect(): void {
    if (this.closed) return;
    const url = new URL(`/parties/room/${encodeURIComponent(this.options.roomId)}`, this.options.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", this.options.token);
    this.connects++;
    const ws = new WebSocket(url.href);
    this.ws = ws;
    ws.on("message", (data, isBinary) => {
      if (this.ws !== ws || isBinary) return;
      this.onRaw(data.toString());
    });
    ws.on("error", (err) => {
      // "close" follows and reconnects. A refused upgrade (not a dead server) is a finding.
      const status = /Unexpected server response: (\d+)/.exec(err.message)?.[1];
      if (status !== undefined && !["502", "503", "504"].includes(status)) this.problem(`upgrade refused with HTTP ${status}`);
    });
    ws.on("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.welcomed = false;
      this.syncing = false;
      this.wake();
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.backoff = Math.min(3000, this.backoff === 0 ? 200 : this.backoff * 1.5);
    const delay = this.backoff * (0.5 + this.options.random());
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private problem(what: string): void {
    this.problems.push(`${this.options.userId}@${this.options.roomId}: ${what}`);
  }

  private transmit(clientId: string): void {
    const s = this.sent.get(clientId)!;
    s.attempts++;
    this.ws?.send(JSON.stringify({ type: "send", clientId, text: s.text }));
  }

  private requestSync(): void {
    this.syncing = true;
    this.ws?.send(JSON.stringify({ type: "sync", after: this.lastSeq }));
  }

  private onRaw(data: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      this.problem(`a frame that is not JSON: ${data.slice(0, 100)}`);
      return;
    }
    for (const frame of unwrap(parsed)) this.onFrame(frame);
    this.wake();
  }

  private onFrame(frame: Frame): void {
    switch (frame.type) {
      case "welcome": {
        this.welcomed = true;
        this.welcomes++;
        this.backoff = 0;
        const recent = (frame.recent as WireMessage[]) ?? [];
        this.ingest(recent);
        // Catch up from the last seq we have; then resend what was never acknowledged.
        if (!this.syncing) this.requestSync();
        for (const clientId of this.outbox) this.transmit(clientId);
        return;
      }
      case "message":
        return this.ingest([frame.message as WireMessage]);
      case "sync": {
        const messages = frame.messages as WireMessage[];
        this.ingest(messages);
        const last = messages.at(-1);
        if (frame.more === true && last) {
          this.ws?.send(JSON.stringify({ type: "sync", after: last.seq }));
          return;
        }
        this.syncing = false;
        if (this.ahead.size > 0) {
          const missing = this.lastSeq + 1;
          this.problem(`a gap: seq ${missing} is missing after a complete sync (have up to ${Math.max(...this.ahead.keys())})`);
        }
        return;
      }
      case "ack":
        return this.onAck({ clientId: String(frame.clientId), id: String(frame.id), seq: Number(frame.seq) });
      case "error": {
        const code = String(frame.code);
        this.errorCodes.set(code, (this.errorCodes.get(code) ?? 0) + 1);
        const clientId = typeof frame.clientId === "string" ? frame.clientId : null;
        if (clientId !== null && this.outbox.includes(clientId) && code === "rate_limited") {
          // Stays in the outbox; resent after the wait, as the browser client would.
          const wait = typeof frame.retryAfter === "number" ? frame.retryAfter * 1000 : 1000;
          setTimeout(() => {
            if (this.welcomed && this.outbox.includes(clientId)) this.transmit(clientId);
          }, wait);
          return;
        }
        this.problem(`error frame ${JSON.stringify(frame).slice(0, 200)}`);
        if (clientId !== null) {
          const i = this.outbox.indexOf(clientId);
          if (i >= 0) this.outbox.splice(i, 1);
        }
        return;
      }
      default:
        return;
    }
  }

  private onAck(ack: Ack): void {
    const s = this.sent.get(ack.clientId);
    if (!s) return this.problem(`an ack for a clientId never sent: ${ack.clientId}`);
    if (s.ack && (s.ack.id !== ack.id || s.ack.seq !== ack.seq)) {
      this.problem(`two different acks for ${ack.clientId}: seq ${s.ack.seq} then ${ack.seq}`);
    }
    s.ack ??= ack;
    const i = this.outbox.indexOf(ack.clientId);
    if (i >= 0) this.outbox.splice(i, 1);
  }

  private ingest(messages: WireMessage[]): void {
    for (const m of messages) {
      const seen: Seen = { id: m.id, seq: m.seq, clientId: m.clientId, authorId: m.author.id, text: m.text };
      const before = this.bySeq.get(m.seq);
      if (before && (before.id !== seen.id || before.text !== seen.text || before.clientId !== seen.clientId)) {
        this.problem(`seq ${m.seq} named two messages: ${JSON.stringify(before)} and ${JSON.stringify(seen)}`);
      }
      if (!before) this.bySeq.set(m.seq, seen);
      if (m.seq <= this.lastSeq || this.ahead.has(m.seq)) continue;
      this.ahead.set(m.seq, seen);
    }
    for (let next = this.ahead.get(this.lastSeq + 1); next; next = this.ahead.get(this.lastSeq + 1)) {
      this.ahead.delete(next.seq);
      this.lastSeq = next.seq;
      this.delivered.push(next);
    }
    if (this.ahead.size > 0 && !this.syncing && this.welcomed) this.requestSync();
  }
}

function unwrap(value: unknown): Frame[] {
  if (typeof value !== "object" || value === null || !("type" in value)) return [];
  const frame = value as Frame;
  if (frame.type === "batch" && Array.isArray(frame.frames)) return frame.frames.flatMap(unwrap);
  return [frame];
}
