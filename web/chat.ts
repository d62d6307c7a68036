/**
 * One open room: its socket, message list, who is online and who is typing. Owns the main
 * column's DOM; `destroy()` closes the socket when the user switches rooms or signs out.
 */
import { ChatError, newClientId, type ChatClient, type ConnectionState, type RoomConnection } from "../src/client";
import type { Message, OnlineUser, UserRef } from "../src/protocol";
import { avatar, h, replaceChildren } from "./dom";
import { MessageList } from "./messages";

const TYPING_RESEND_MS = 2000;
/** A little longer than the server's 3 s so a late refresh does not make the name flicker. */
const TYPING_SHOW_MS = 3500;
const NEAR_BOTTOM_PX = 80;

export interface ChatViewHost {
  client: ChatClient;
  me: UserRef;
  toast(text: string): void;
  /** The server refused our token: the session is over. */
  signOut(reason: string): void;
  setOnline(users: OnlineUser[]): void;
}

const STATE_LABEL: Record<ConnectionState, string> = {
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Offline",
};

export class ChatView {
  readonly el: HTMLElement;
  private readonly scroller = h("div", { class: "scroller" });
  private readonly older = h("button", { type: "button", class: "older", hidden: true }, "Load older messages");
  private readonly start = h("p", { class: "start", hidden: true });
  private readonly typingEl = h("div", { class: "typing", "aria-live": "polite" });
  private readonly nameEl = h("span", {});
  /** The id, shown beside a group's title since it is what others type to join. */
  private readonly idEl = h("small", {});
  private label = "";
  private readonly stateEl = h("span", { class: "conn", "data-state": "connecting" }, STATE_LABEL.connecting);
  private readonly banner = h("div", { class: "banner", hidden: true }, "Connection lost. Reconnecting… Messages you send now will go out when it is back.");
  private readonly input = h("textarea", { rows: 1, placeholder: "Write a message…", "aria-label": "Message" });
  private readonly list: MessageList;
  private room: RoomConnection | null = null;
  private readonly online = new Map<string, OnlineUser>();
  private readonly typers = new Map<string, { name: string; timer: ReturnType<typeof setTimeout> }>();
  private nextBefore: number | null = null;
  private loadingOlder = false;
  private lastTypingSent = 0;
  private readTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onVisibility = () => this.visibilityChanged();
  private destroyed = false;

  constructor(
    private readonly host: ChatViewHost,
    readonly roomId: string,
  ) {
    this.list = new MessageList(host.me, (id) => this.room?.isPending(id) ?? false);
    this.older.addEventListener("click", () => void this.loadOlder());
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < 40 && !this.older.hidden) void this.loadOlder();
    });
    this.scroller.append(this.start, this.older, this.list.el, this.list.pendingEl);
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => this.typed());
    this.el = h(
      "main",
      { class: "room" },
      h("header", { class: "room-head" }, h("h2", {}, h("span", { class: "hash" }, "#"), this.nameEl, this.idEl), this.stateEl),
      this.banner,
      this.scroller,
      this.typingEl,
      h(
        "form",
        { class: "composer", onsubmit: (e: Event) => (e.preventDefault(), this.submit()) },
        this.input,
        h("button", { type: "submit", class: "primary" }, "Send"),
      ),
    );
    document.addEventListener("visibilitychange", this.onVisibility);
    this.setTitle(null);
  }

  /** Checks access over REST first: a refused socket upgrade would only be retried forever. */
  async open(): Promise<void> {
    try {
      await this.host.client.history(this.roomId, { limit: 1 });
    } catch (err) {
      if (!this.destroyed) this.refused(err);
      return;
    }
    // The user may have switched rooms while we waited.
    if (this.destroyed) return;
    const room = this.host.client.room(this.roomId);
    this.room = room;
    room.on("state", (s) => this.showState(s));
    room.on("welcome", (f, reconnect) => {
      this.online.clear();
      for (const u of f.online) this.online.set(u.id, u);
      this.host.setOnline([...this.online.values()]);
      if (!reconnect) this.firstWelcome(f.recent, f.lastSeq);
    });
    room.on("message", (m) => this.addLive(m));
    room.on("ack", (f) => this.list.markAcked(f.clientId));
    room.on("updated", (m) => this.list.upsert(m));
    room.on("typing", (f) => this.setTyping(f.userId, f.name, f.on));
    room.on("presence", (f) => {
      if (f.status === "offline") this.online.delete(f.userId);
      else this.online.set(f.userId, { id: f.userId, name: f.name, status: f.status });
      this.host.setOnline([...this.online.values()]);
    });
    room.on("error", (f) => {
      // The token no longer gets a socket ticket: the session is over.
      if (f.code === "unauthorized") return this.host.signOut("Your session has expired. Please sign in again.");
      this.host.toast(`${f.code}: ${f.message}`);
    });
    this.input.focus();
  }

  setTitle(title: string | null): void {
    const titled = !!title && title !== this.roomId;
    this.nameEl.textContent = titled ? title : this.roomId;
    this.idEl.textContent = titled ? this.roomId : "";
    this.label = titled ? title : `#${this.roomId}`;
    document.title = `${this.label} · edge-chat`;
    if (!this.start.hidden) this.showHistoryEdge();
  }

  destroy(): void {
    this.destroyed = true;
    document.removeEventListener("visibilitychange", this.onVisibility);
    for (const t of this.typers.values()) clearTimeout(t.timer);
    clearTimeout(this.readTimer);
    this.room?.close();
    this.el.remove();
  }

  private refused(err: unknown): void {
    const code = err instanceof ChatError ? err.code : "network";
    if (code === "unauthorized") return this.host.signOut("Your session has expired. Please sign in again.");
    const text =
      code === "forbidden"
        ? `You are not a member of #${this.roomId}.`
        : code === "not_found"
          ? `There is no room called #${this.roomId}.`
          : `Could not open #${this.roomId}: ${err instanceof Error ? err.message : String(err)}`;
    const retry = h("button", { type: "button", class: "primary" }, "Try again");
    retry.addEventListener("click", () => {
      replaceChildren(this.scroller, this.start, this.older, this.list.el, this.list.pendingEl);
      void this.open();
    });
    replaceChildren(this.scroller, h("div", { class: "notice error" }, h("p", {}, text), code === "forbidden" || code === "not_found" ? null : retry));
    this.showState("closed");
  }

  private firstWelcome(recent: Message[], lastSeq: number): void {
    const first = recent[0]?.seq ?? lastSeq + 1;
    this.nextBefore = first > 1 ? first : null;
    this.showHistoryEdge();
    requestAnimationFrame(() => this.scrollToBottom());
  }

  private showHistoryEdge(): void {
    this.older.hidden = this.nextBefore === null;
    this.start.hidden = this.nextBefore !== null;
    this.start.textContent =
      this.list.size === 0 ? `No messages in ${this.label} yet. Say hello!` : `This is the start of ${this.label}.`;
  }

  private showState(state: ConnectionState): void {
    this.stateEl.dataset.state = state;
    this.stateEl.textContent = STATE_LABEL[state];
    this.banner.hidden = state !== "reconnecting";
  }

  private addLive(m: Message): void {
    const stick = this.nearBottom() || m.author.id === this.host.me.id;
    this.list.upsert(m);
    this.setTyping(m.author.id, m.author.name, false);
    if (!this.start.hidden) this.showHistoryEdge();
    if (stick) this.scrollToBottom();
    this.scheduleRead();
  }

  private async loadOlder(): Promise<void> {
    const before = this.nextBefore;
    if (this.loadingOlder || before === null) return;
    this.loadingOlder = true;
    this.older.textContent = "Loading…";
    try {
      const page = await this.host.client.history(this.roomId, { before, limit: 50 });
      const height = this.scroller.scrollHeight;
      for (const m of page.messages) this.list.upsert(m);
      // Keep the message the reader was looking at in place.
      this.scroller.scrollTop += this.scroller.scrollHeight - height;
      this.nextBefore = page.nextBefore;
      this.showHistoryEdge();
    } catch (err) {
      this.host.toast(`Could not load older messages: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.loadingOlder = false;
      this.older.textContent = "Load older messages";
    }
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (!text || !this.room) return;
    this.input.value = "";
    this.room.typing(false);
    this.lastTypingSent = 0;
    this.send(text);
  }

  private send(text: string): void {
    const room = this.room;
    if (!room) return;
    const clientId = newClientId();
    this.list.addPending({ clientId, text });
    this.scrollToBottom();
    room.send(text, { clientId }).then(
      (ack) => this.list.markAcked(ack.clientId),
      (err: unknown) => {
        const reason = err instanceof ChatError ? err.message : String(err);
        if (err instanceof ChatError && err.code === "closed") return;
        const stick = this.nearBottom();
        this.list.markFailed(clientId, reason, {
          retry: () => (this.list.removePending(clientId), this.send(text)),
          discard: () => this.list.removePending(clientId),
        });
        if (stick) this.scrollToBottom();
      },
    );
  }

  private typed(): void {
    if (!this.room) return;
    const now = Date.now();
    if (this.input.value.trim() && now - this.lastTypingSent > TYPING_RESEND_MS) {
      this.lastTypingSent = now;
      this.room.typing(true);
    } else if (!this.input.value.trim() && this.lastTypingSent) {
      this.lastTypingSent = 0;
      this.room.typing(false);
    }
  }

  private setTyping(userId: string, name: string, on: boolean): void {
    const old = this.typers.get(userId);
    if (old) clearTimeout(old.timer);
    if (on && userId !== this.host.me.id) {
      this.typers.set(userId, { name, timer: setTimeout(() => this.setTyping(userId, name, false), TYPING_SHOW_MS) });
    } else {
      this.typers.delete(userId);
    }
    const names = [...this.typers.values()].map((t) => t.name);
    this.typingEl.textContent =
      names.length === 0
        ? ""
        : names.length === 1
          ? `${names[0]} is typing…`
          : names.length === 2
            ? `${names[0]} and ${names[1]} are typing…`
            : "Several people are typing…";
  }

  private visibilityChanged(): void {
    this.room?.setStatus(document.hidden ? "away" : "online");
    this.scheduleRead();
  }

  /** Read receipts only while the page is actually visible, and at most once a second. */
  private scheduleRead(): void {
    if (document.hidden || this.readTimer !== undefined) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      const seq = this.list.maxSeq;
      if (seq !== null && !document.hidden) this.room?.markRead(seq);
    }, 1000);
  }

  private nearBottom(): boolean {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  private scrollToBottom(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}

export function personRow(u: OnlineUser, me: UserRef): HTMLElement {
  return h(
    "li",
    { class: `person ${u.status}`, title: u.status },
    avatar(u),
    h("span", { class: "name" }, u.name, u.id === me.id ? h("span", { class: "you" }, " (you)") : null),
    h("span", { class: "dot", "aria-label": u.status }),
  );
}
