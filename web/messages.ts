/**
 * The message list of one room: real messages in seq order (live ones appended, older
 * history prepended), and below them the sends that have no message yet.
 */
import { quoteOf, type Message, type UserRef } from "../src/protocol";
import { avatar, h } from "./dom";

/** Messages by one author this close together share one header. */
const GROUP_MS = 5 * 60_000;

export interface PendingItem {
  clientId: string;
  text: string;
}

export class MessageList {
  readonly el = h("div", { class: "list", role: "log", "aria-live": "polite" });
  readonly pendingEl = h("div", { class: "pending-list" });
  private readonly bySeq = new Map<number, HTMLElement>();
  private readonly data = new WeakMap<Element, Message>();

  constructor(
    private readonly me: UserRef,
    private readonly isUnacked: (clientId: string) => boolean,
  ) {}

  get minSeq(): number | null {
    return this.bySeq.size ? Math.min(...this.bySeq.keys()) : null;
  }
  get maxSeq(): number | null {
    return this.bySeq.size ? Math.max(...this.bySeq.keys()) : null;
  }
  get size(): number {
    return this.bySeq.size;
  }

  /** Inserts or replaces a message; a send of ours that it confirms leaves the pending area. */
  upsert(m: Message): void {
    if (m.clientId) this.pendingEl.querySelector(`[data-client-id="${CSS.escape(m.clientId)}"]`)?.remove();
    const old = this.bySeq.get(m.seq);
    if (old) this.requote(m);
    this.place(m, old);
  }

  /** Replies quoting a changed message show its new text, or that it was deleted. */
  private requote(changed: Message): void {
    for (const [seq, el] of this.bySeq) {
      const reply = this.data.get(el);
      if (seq > changed.seq && reply?.replyTo?.id === changed.id) {
        this.place({ ...reply, replyTo: quoteOf(changed.id, changed) }, el);
      }
    }
  }

  private place(m: Message, old: HTMLElement | undefined): void {
    const el = this.render(m);
    if (old) old.replaceWith(el);
    else this.el.insertBefore(el, this.nextAfter(m.seq));
    this.bySeq.set(m.seq, el);
    this.regroup(el);
    const next = el.nextElementSibling;
    if (next) this.regroup(next);
  }

  addPending(p: PendingItem): HTMLElement {
    const el = h(
      "article",
      { class: "msg own pending", "data-client-id": p.clientId },
      avatar(this.me),
      h(
        "div",
        { class: "body" },
        h("header", {}, h("span", { class: "author" }, this.me.name), h("span", { class: "state" }, "sending…")),
        h("p", { class: "text" }, p.text),
      ),
    );
    this.pendingEl.append(el);
    return el;
  }

  markAcked(clientId: string): void {
    for (const el of this.elementsFor(clientId)) {
      if (!this.pendingEl.contains(el)) {
        el.classList.remove("pending");
        el.querySelector(".state")?.remove();
      }
    }
  }

  markFailed(clientId: string, reason: string, actions: { retry: () => void; discard: () => void }): void {
    const el = this.pendingEl.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`);
    if (!el) return;
    el.classList.add("failed");
    const state = el.querySelector(".state");
    if (state) state.textContent = "not sent";
    // Below the text, so it stays in view under a long message.
    el.querySelector(".body")?.append(
      h(
        "p",
        { class: "failure", role: "alert" },
        `Not sent: ${reason}. `,
        h("button", { type: "button", class: "link", onclick: actions.retry }, "Retry"),
        " · ",
        h("button", { type: "button", class: "link", onclick: actions.discard }, "Discard"),
      ),
    );
  }

  removePending(clientId: string): void {
    this.pendingEl.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`)?.remove();
  }

  private elementsFor(clientId: string): Element[] {
    const sel = `[data-client-id="${CSS.escape(clientId)}"]`;
    return [...this.el.querySelectorAll(sel), ...this.pendingEl.querySelectorAll(sel)];
  }

  /** The element to insert a message with this seq before; live messages land at the end fast. */
  private nextAfter(seq: number): Element | null {
    const max = this.maxSeq;
    if (max === null || seq > max) return null;
    for (const child of this.el.children) {
      const m = this.data.get(child);
      if (m && m.seq > seq) return child;
    }
    return null;
  }

  private regroup(el: Element): void {
    const m = this.data.get(el);
    const prev = el.previousElementSibling ? this.data.get(el.previousElementSibling) : undefined;
    const cont =
      !!m &&
      !!prev &&
      prev.author.id === m.author.id &&
      !prev.deletedAt &&
      Date.parse(m.createdAt) - Date.parse(prev.createdAt) < GROUP_MS;
    el.classList.toggle("cont", cont);
  }

  private render(m: Message): HTMLElement {
    const own = m.author.id === this.me.id;
    const unacked = own && !!m.clientId && this.isUnacked(m.clientId);
    const created = new Date(m.createdAt);
    const classes = ["msg", own && "own", unacked && "pending", m.deletedAt && "deleted"].filter(Boolean);
    const el = h(
      "article",
      { class: classes.join(" "), "data-seq": m.seq, "data-client-id": m.clientId ?? undefined },
      avatar(m.author),
      h(
        "div",
        { class: "body" },
        h(
          "header",
          {},
          h("span", { class: "author" }, m.author.name),
          h("time", { datetime: m.createdAt, title: created.toLocaleString() }, formatTime(created)),
          m.editedAt && !m.deletedAt ? h("span", { class: "edited" }, "(edited)") : null,
          unacked ? h("span", { class: "state" }, "sending…") : null,
        ),
        m.replyTo
          ? m.replyTo.deleted
            ? h("blockquote", { class: "reply deleted" }, "deleted message")
            : h("blockquote", { class: "reply" }, h("b", {}, m.replyTo.author.name), " ", m.replyTo.excerpt)
          : null,
        m.deletedAt ? h("p", { class: "text" }, "This message was deleted.") : h("p", { class: "text" }, m.text),
        renderReactions(m.reactions ?? {}),
      ),
    );
    this.data.set(el, m);
    return el;
  }
}

function renderReactions(reactions: Record<string, string[]>): HTMLElement | null {
  const entries = Object.entries(reactions).filter(([, users]) => users.length > 0);
  if (!entries.length) return null;
  return h(
    "div",
    { class: "reactions" },
    ...entries.map(([emoji, users]) => h("span", { class: "reaction", title: users.join(", ") }, `${emoji} ${users.length}`)),
  );
}

function formatTime(d: Date): string {
  const sameDay = d.toDateString() === new Date().toDateString();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay ? time : `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}
