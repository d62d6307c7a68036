/**
 * One reconnecting socket on the PartySocket path (`/parties/:party/:name`), shared by the room
 * and user connections: credentials fetched before every connect, heartbeats that notice a
 * dead connection the OS has not, `batch` frames unwrapped, and, in a browser, a socket dropped
 * when it says it is offline (frames sent into it would be lost without an error; the outbox
 * keeps sends until a new socket is welcomed) and a quick reconnect when it is back online.
 * What the frames mean is the connection's business.
 */
import PartySocket from "partysocket";
import { PING, PONG, unwrapFrame, type ServerFrame } from "../protocol";
import { socketTicket } from "./auth";
import { ChatError } from "./errors";
import type { RestClient } from "./rest";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface SocketHandlers {
  /** The socket is open (a room still waits for its welcome). */
  open(): void;
  frame(frame: ServerFrame): void;
  /**
   * The socket closed and will be retried. `refused` means an attempt had credentials but never
   * opened: the server may have refused the upgrade (403, 404), which a browser cannot see.
   */
  close(refused: boolean): void;
  /** Retrying cannot help (the token is refused, the socket was replaced): the socket is closed. */
  fatal(error: ChatError): void;
}

const HEARTBEAT_MS = 25_000;
/** No frame (not even a pong) for this long means a dead connection the OS has not noticed. */
const SILENCE_LIMIT_MS = 60_000;
/** The server closed this socket because the user opened more than the cap allows. */
const REPLACED = 4008;

interface Window {
  addEventListener(type: "online" | "offline", fn: () => void): void;
  removeEventListener(type: "online" | "offline", fn: () => void): void;
}

export class SocketCore {
  private readonly ws: PartySocket;
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private lastFrameAt = Date.now();
  private credentialed = false;
  private opened = false;
  private closed = false;
  private readonly browser = "window" in globalThis ? (globalThis as unknown as { window: Window }).window : null;
  private readonly online = () => {
    if (!this.closed && !this.isOpen) this.ws.reconnect();
  };
  private readonly offline = () => {
    if (!this.closed && this.isOpen) this.ws.reconnect(4000, "browser offline");
  };

  constructor(
    private readonly api: RestClient,
    party: "room" | "user",
    name: string,
    private readonly handlers: SocketHandlers,
  ) {
    const { baseUrl, WebSocket } = api.options;
    const base = new URL(baseUrl);
    this.ws = new PartySocket({
      host: base.host,
      protocol: base.protocol === "https:" ? "wss" : "ws",
      party,
      room: name,
      // Called before every connect and reconnect: fresh credentials each time.
      query: () => this.credentials(),
      WebSocket,
      // Quick first retry with jitter so a restarted server is not hit by every tab at once.
      minReconnectionDelay: 300 + Math.random() * 1200,
      maxReconnectionDelay: 10_000,
      shouldReconnectOnClose: (e) => e.code !== REPLACED,
    });
    this.ws.addEventListener("open", () => {
      this.opened = true;
      this.lastFrameAt = Date.now();
      this.handlers.open();
    });
    this.ws.addEventListener("close", (e) => this.onClose(e.code, e.reason));
    this.ws.addEventListener("message", (e) => {
      if (typeof e.data === "string") this.onRaw(e.data);
    });
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.browser?.addEventListener("online", this.online);
    this.browser?.addEventListener("offline", this.offline);
  }

  get isOpen(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  /** Sends at once if open; otherwise drops it (PartySocket would queue it, and callers resend what matters). */
  send(frame: object | string): boolean {
    if (!this.isOpen) return false;
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    return true;
  }

  /** Drops the current socket and connects again (also what a lost connection looks like). */
  reconnect(code?: number, reason?: string): void {
    if (!this.closed) this.ws.reconnect(code, reason);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.browser?.removeEventListener("online", this.online);
    this.browser?.removeEventListener("offline", this.offline);
    this.ws.close();
  }

  /**
   * The query for the next connect. A refused token ends the connection (retrying cannot
   * help); anything else (network, rate limit, outage) fails this attempt and PartySocket
   * retries with its backoff.
   */
  private async credentials(): Promise<Record<string, string>> {
    try {
      const token = await this.api.currentToken();
      const query: Record<string, string> =
        this.api.options.socketAuth === "token" ? { token } : { ticket: (await socketTicket(this.api.options.baseUrl, token)).ticket };
      this.credentialed = true;
      return query;
    } catch (err) {
      if (err instanceof ChatError && err.code === "unauthorized") this.fail(err);
      throw err;
    }
  }

  private fail(err: ChatError): void {
    if (this.closed) return;
    this.close();
    this.handlers.fatal(err);
  }

  private onClose(code: number, reason: string): void {
    const refused = this.credentialed && !this.opened;
    this.credentialed = false;
    this.opened = false;
    if (this.closed) return;
    if (code === REPLACED) return this.fail(new ChatError("conflict", reason || "replaced by a newer socket of the same user"));
    this.handlers.close(refused);
  }

  private beat(): void {
    if (!this.isOpen) return;
    if (Date.now() - this.lastFrameAt > SILENCE_LIMIT_MS) this.ws.reconnect(4000, "heartbeat timeout");
    else this.ws.send(PING);
  }

  private onRaw(data: string): void {
    this.lastFrameAt = Date.now();
    if (data === PONG) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof parsed !== "object" || parsed === null || !("type" in parsed)) return;
    for (const frame of unwrapFrame(parsed as ServerFrame)) this.handlers.frame(frame);
  }
}
