/**
 * The widget's DOM, all of it inside a shadow root: a bubble button that opens a panel with the
 * conversation and a composer. The page's styles cannot reach in (the host resets every
 * inherited property) and the widget's cannot get out. Messages are text nodes only.
 */
import type { Message } from "../../src/protocol";
import type { WidgetConfig } from "./config";
import { bubbleIcon, h } from "./dom";
// A minified string: scripts/build-widget.mjs loads CSS as text.
import css from "./widget.css";

export interface ViewHandlers {
  send(text: string, name: string): void;
  retry(clientId: string, name: string): void;
  older(): void;
  /** The panel was opened (true) or closed. */
  toggled(open: boolean): void;
}

export type SendState = "pending" | "sent" | "failed";

const NEAR_BOTTOM_PX = 60;

export class WidgetView {
  readonly host = document.createElement("edge-chat-widget");
  private readonly bubble: HTMLButtonElement;
  private readonly dot = h("span", { class: "dot", hidden: true });
  private readonly wrapper: HTMLElement;
  private readonly panel: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly list = h("ol", { class: "list" });
  /** Sends not yet in the room's order (no `message` frame yet), after every confirmed message. */
  private readonly pendingList = h("ol", { class: "list pending-list" });
  private readonly olderButton = h("button", { type: "button", class: "older", hidden: true }, "Earlier messages");
  private readonly status = h("p", { class: "status", "aria-live": "polite" });
  private readonly nameField: HTMLElement;
  private readonly nameInput = h("input", { id: "ec-name", type: "text", maxlength: "64", autocomplete: "name" });
  private readonly input = h("textarea", { id: "ec-text", rows: "1", placeholder: "Write a message…", "aria-label": "Message" });
  private readonly label: string;
  isOpen = false;

  constructor(
    config: WidgetConfig,
    private readonly handlers: ViewHandlers,
  ) {
    const root = this.host.attachShadow({ mode: "open" });
    this.label = `Open chat: ${config.title}`;
    this.bubble = h("button", { type: "button", class: "bubble", "aria-label": this.label, "aria-expanded": "false", "aria-controls": "ec-panel" });
    this.bubble.append(bubbleIcon(), this.dot);
    this.bubble.addEventListener("click", () => this.toggle(!this.isOpen));

    const close = h("button", { type: "button", class: "close", "aria-label": "Close chat" }, "×");
    close.addEventListener("click", () => this.toggle(false));
    this.olderButton.addEventListener("click", () => handlers.older());
    this.scroller = h("div", { class: "scroll" }, h("p", { class: "greeting" }, config.greeting), this.olderButton, this.list, this.pendingList);
    this.nameField = h("p", { class: "name", hidden: !config.askName }, h("label", { for: "ec-name" }, "Your name (optional)"), this.nameInput);
    const send = h("button", { type: "submit", class: "send" }, "Send");
    const form = h("form", {}, this.nameField, h("div", { class: "row" }, this.input, send));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.panel = h(
      "section",
      { id: "ec-panel", class: "panel", role: "dialog", "aria-labelledby": "ec-title", hidden: true },
      h("header", {}, h("h2", { id: "ec-title" }, config.title), close),
      this.scroller,
      this.status,
      form,
    );
    this.panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        this.toggle(false);
      }
    });

    this.wrapper = h("div", { class: `root ${config.position}` }, this.panel, this.bubble);
    // On the wrapper, not the host: the page can set properties on the host element, never inside.
    this.wrapper.style.setProperty("--accent", config.color);
    adoptStyles(root, css);
    root.append(this.wrapper);
  }

  toggle(open: boolean): void {
    if (open === this.isOpen) return;
    this.isOpen = open;
    this.panel.hidden = !open;
    this.wrapper.classList.toggle("open", open);
    this.bubble.setAttribute("aria-expanded", String(open));
    if (open) {
      this.scrollToEnd();
      this.input.focus();
    } else {
      this.bubble.focus();
    }
    this.handlers.toggled(open);
  }

  setUnread(count: number): void {
    this.dot.hidden = count === 0;
    this.bubble.setAttribute("aria-label", count === 0 ? this.label : `${this.label} (${count} new ${count === 1 ? "message" : "messages"})`);
  }

  setStatus(text: string, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle("error", error);
    this.status.setAttribute("role", error ? "alert" : "status");
  }

  /** The name field is for a visitor without a conversation yet. */
  showName(show: boolean): void {
    this.nameField.hidden = !show;
  }

  setOlder(visible: boolean): void {
    this.olderButton.hidden = !visible;
  }

  clearMessages(): void {
    this.list.replaceChildren();
    this.pendingList.replaceChildren();
    this.setOlder(false);
  }

  /** A message of the room's history: appended (live, newer) or prepended (an older page). */
  addMessage(message: Message, mine: boolean, at: "end" | "start" = "end"): void {
    const el = h("li", { class: mine ? "msg mine" : "msg", "data-seq": String(message.seq) });
    if (!mine) el.append(h("div", { class: "author" }, message.author.name));
    el.append(h("div", { class: "text" }), h("div", { class: "meta" }));
    fill(el, message);
    if (mine) el.dataset.state = "sent";
    this.place(el, at);
  }

  /** A send of the visitor's, shown at once and marked pending until the room acknowledges it. */
  addPending(clientId: string, text: string): void {
    const el = h("li", { class: "msg mine", "data-client-id": clientId }, h("div", { class: "text" }, text), h("div", { class: "meta" }));
    this.pendingList.append(el);
    this.setState(clientId, "pending");
    this.scrollToEnd();
  }

  hasPending(clientId: string): boolean {
    return this.pendingOf(clientId) !== null;
  }

  /** `detail`: when it was stored (sent); the reason is the status line's (failed). */
  setState(clientId: string, state: SendState, detail = ""): void {
    const el = this.pendingOf(clientId);
    const meta = el?.querySelector(".meta");
    if (!el || !meta) return;
    el.dataset.state = state;
    if (state === "failed") {
      const retry = h("button", { type: "button", class: "retry" }, "Retry");
      retry.addEventListener("click", () => this.handlers.retry(clientId, this.nameInput.value.trim()));
      meta.replaceChildren("Not sent. ", retry);
    } else {
      meta.textContent = state === "pending" ? "Sending…" : `${timeOf(detail)} · Sent`;
    }
  }

  /** The room's copy of a pending send arrived: it takes its place in the room's order. */
  confirm(clientId: string, message: Message): void {
    const el = this.pendingOf(clientId);
    if (!el) return;
    el.dataset.seq = String(message.seq);
    this.list.append(el);
  }

  /** An edit or delete of a message on screen. */
  update(message: Message): void {
    const el = this.list.querySelector<HTMLElement>(`[data-seq="${message.seq}"]`);
    if (el) fill(el, message);
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.handlers.send(text, this.nameInput.value.trim());
  }

  private pendingOf(clientId: string): HTMLElement | null {
    for (const el of this.scroller.querySelectorAll<HTMLElement>("[data-client-id]")) if (el.dataset.clientId === clientId) return el;
    return null;
  }

  private place(el: HTMLElement, at: "end" | "start"): void {
    if (at === "start") {
      // Keep what the visitor is reading where it is.
      const before = this.scroller.scrollHeight;
      this.list.prepend(el);
      this.scroller.scrollTop += this.scroller.scrollHeight - before;
      return;
    }
    const near = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < NEAR_BOTTOM_PX;
    this.list.append(el);
    if (near) this.scrollToEnd();
  }

  private scrollToEnd(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}

function fill(el: HTMLElement, message: Message): void {
  const text = el.querySelector(".text");
  const meta = el.querySelector(".meta");
  if (text) text.textContent = message.deletedAt ? "This message was deleted." : message.text;
  el.classList.toggle("deleted", message.deletedAt !== null);
  if (meta && !el.dataset.clientId) meta.textContent = `${timeOf(message.createdAt)}${message.editedAt ? " · edited" : ""}`;
}

const timeOf = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/**
 * A constructed style sheet where the browser has them: a page whose Content-Security-Policy
 * forbids inline styles still lets those apply. A <style> element otherwise.
 */
function adoptStyles(root: ShadowRoot, text: string): void {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(text);
    root.adoptedStyleSheets = [sheet];
  } catch {
    root.append(h("style", {}, text));
  }
}
