/**
 * The visitor's side of the chat: a visitor session (made on the first message, kept across
 * reloads, renewed before it expires), the room socket (the typed client's RoomConnection:
 * resends, gap-filling sync, a fresh socket ticket per connect) and the view.
 */
import { ChatClient, ChatError, newClientId, RoomConnection, type ConnectionState } from "../../src/client";
import type { Message } from "../../src/protocol";
import type { WidgetConfig } from "./config";
import { explainFailure, lifeOf, renewToken, SessionStore, startVisit, type VisitorSession } from "./session";
import { WidgetView } from "./view";

const STATE_TEXT: Record<ConnectionState, string> = {
  connecting: "Connecting…",
  open: "",
  reconnecting: "Connection lost. Reconnecting… Messages you write now go out when it is back.",
  closed: "",
};
const RENEW_RETRY_MS = 60_000;

export class Widget {
  readonly view: WidgetView;
  private readonly store: SessionStore;
  private session: VisitorSession | null;
  private starting: Promise<VisitorSession> | null = null;
  private room: RoomConnection | null = null;
  private readonly texts = new Map<string, string>();
  /** Lowest and highest seq on screen (0: none yet). */
  private firstSeq = 0;
  private lastSeq = 0;
  private unread = 0;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly config: WidgetConfig) {
    this.store = new SessionStore(config.api);
    this.view = new WidgetView(config, {
      send: (text, name) => void this.send(newClientId(), text, name),
      retry: (clientId, name) => void this.send(clientId, this.texts.get(clientId) ?? "", name),
      older: () => void this.older(),
      toggled: (open) => open && this.markSeen(),
    });
    this.session = this.store.load();
    if (this.session) this.begin(this.session);
    // Timers sleep with a background tab: check the token again when the visitor is back.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.scheduleRenewal();
    });
  }

  private async send(clientId: string, text: string, name: string): Promise<void> {
    if (!text) return;
    this.texts.set(clientId, text);
    if (this.view.hasPending(clientId)) this.view.setState(clientId, "pending");
    else this.view.addPending(clientId, text);
    try {
      const session = this.session ?? (await (this.starting ??= this.start(name)));
      if (!this.room || this.session !== session) throw new ChatError("closed", "the conversation has ended");
      // A retry of a refused send: the client keeps the refused one until it is discarded.
      this.room.discard(clientId);
      const ack = await this.room.send(text, { clientId });
      this.texts.delete(clientId);
      this.view.setState(clientId, "sent", ack.createdAt);
    } catch (err) {
      const reason = await this.reasonOf(err);
      this.view.setState(clientId, "failed");
      this.view.setStatus(reason, true);
    }
  }

  /** The first message: a new visitor and their room. Nothing is made before the visitor writes. */
  private async start(name: string): Promise<VisitorSession> {
    try {
      const session = await startVisit(this.config.api, name || "Guest");
      this.store.save(session);
      this.session = session;
      this.begin(session);
      return session;
    } finally {
      this.starting = null;
    }
  }

  private begin(session: VisitorSession): void {
    this.view.showName(false);
    this.view.setStatus("");
    this.scheduleRenewal();
    const client = new ChatClient({
      baseUrl: this.config.api,
      // Read at every (re)connect, so a renewed token is the one that gets the socket ticket.
      getToken: () => this.session?.token ?? "",
      userId: session.user.id,
    });
    const room = client.room(session.roomId);
    this.room = room;
    room.on("state", (state) => this.view.setStatus(STATE_TEXT[state]));
    room.on("message", (m) => this.received(m));
    room.on("updated", (m) => this.view.update(m));
    room.on("error", (frame) => {
      if (frame.code === "unauthorized") this.end("This conversation has ended. Write a message to start a new one.");
      else this.view.setStatus(frame.message, true);
    });
  }

  private received(m: Message): void {
    const session = this.session;
    if (!session) return;
    const mine = m.author.id === session.user.id;
    if (mine && m.clientId && this.view.hasPending(m.clientId)) this.view.confirm(m.clientId, m);
    else this.view.addMessage(m, mine);
    if (this.firstSeq === 0) {
      this.firstSeq = m.seq;
      this.view.setOlder(m.seq > 1);
    }
    this.lastSeq = m.seq;
    if (this.view.isOpen) this.markSeen();
    else if (!mine && m.seq > session.seen) this.view.setUnread(++this.unread);
  }

  /** The visitor has the conversation in front of them: nothing is unread, and staff see it read. */
  private markSeen(): void {
    this.unread = 0;
    this.view.setUnread(0);
    const session = this.session;
    if (!session || this.lastSeq <= session.seen) return;
    session.seen = this.lastSeq;
    this.store.save(session);
    this.room?.markRead(this.lastSeq);
  }

  /** `GET …/messages`: the page before the oldest message on screen. */
  private async older(): Promise<void> {
    const session = this.session;
    if (!session || this.firstSeq <= 1) return;
    const api = new ChatClient({ baseUrl: this.config.api, token: session.token });
    try {
      const page = await api.history(session.roomId, { before: this.firstSeq });
      for (const m of [...page.messages].reverse()) this.view.addMessage(m, m.author.id === session.user.id, "start");
      this.firstSeq = page.messages[0]?.seq ?? 1;
      this.view.setOlder(page.nextBefore !== null && this.firstSeq > 1);
    } catch (err) {
      this.view.setStatus(await this.reasonOf(err), true);
    }
  }

  /** Renews the token once half its life is gone (at once if that is past). */
  private scheduleRenewal(delay?: number): void {
    clearTimeout(this.renewTimer);
    const life = this.session && lifeOf(this.session.token);
    if (!life) return;
    const due = delay ?? life.iat + (life.exp - life.iat) / 2 - Date.now();
    this.renewTimer = setTimeout(() => void this.renew(), Math.max(0, due));
  }

  private async renew(): Promise<void> {
    const session = this.session;
    if (!session) return;
    try {
      const token = await renewToken(this.config.api, session.token);
      if (this.session !== session) return;
      session.token = token;
      this.store.save(session);
      this.scheduleRenewal();
    } catch (err) {
      if (err instanceof ChatError && (err.code === "unauthorized" || err.code === "forbidden")) {
        this.end("This conversation has ended. Write a message to start a new one.");
      } else {
        // The server or the network is down for now: try again while the token still lives.
        this.scheduleRenewal(RENEW_RETRY_MS);
      }
    }
  }

  /** The token is no longer accepted: the next message starts a new conversation. */
  private end(reason: string): void {
    clearTimeout(this.renewTimer);
    this.room?.close();
    this.room = null;
    this.session = null;
    this.store.clear();
    this.firstSeq = this.lastSeq = this.unread = 0;
    this.view.setUnread(0);
    this.view.clearMessages();
    this.view.showName(this.config.askName);
    this.view.setStatus(reason);
  }

  private async reasonOf(err: unknown): Promise<string> {
    if (!(err instanceof ChatError)) return "something went wrong";
    if (err.code === "network") return explainFailure(this.config.api);
    if (err.code === "rate_limited") return `too many messages, try again${err.retryAfter ? ` in ${err.retryAfter} s` : " shortly"}`;
    return err.message;
  }
}
