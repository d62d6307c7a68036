/**
 * The single-page app: sign in (dev auth, or a token handed over by the host site as
 * `#token=…`), then a sidebar of rooms and people next to the open room. The room id lives in
 * the URL hash (`#community`), so a reload reopens it.
 */
import "./style.css";
import { ChatClient, ChatError, devLogin, type Session } from "../src/client";
import { isRoomId, type OnlineUser } from "../src/protocol";
import { ChatView, personRow } from "./chat";
import { h, replaceChildren } from "./dom";
import { clearSession, loadSession, saveSession, takeHandedOverSession, userIdFromName } from "./session";

const DEFAULT_ROOM = "community";
const root = document.getElementById("app") ?? document.body;
const toasts = h("div", { class: "toasts", role: "status" });
document.body.append(toasts);

function toast(text: string): void {
  const el = h("div", { class: "toast" }, text);
  toasts.append(el);
  setTimeout(() => el.remove(), 6000);
}

function currentRoomId(): string {
  const id = decodeURIComponent(location.hash.slice(1));
  return isRoomId(id) ? id : DEFAULT_ROOM;
}

// ---- Sign in ----------------------------------------------------------------------------

function showSignIn(notice?: string): void {
  const name = h("input", { name: "name", required: true, maxlength: 60, autocomplete: "nickname", placeholder: "Ada Lovelace" });
  const userId = h("input", { name: "userId", required: true, maxlength: 64, pattern: "[A-Za-z0-9_\\-]+", placeholder: "ada-lovelace" });
  let idEdited = false;
  name.addEventListener("input", () => {
    if (!idEdited) userId.value = name.value.trim() ? userIdFromName(name.value) : "";
  });
  userId.addEventListener("input", () => (idEdited = true));
  const error = h("p", { class: "error", role: "alert", hidden: !notice }, notice ?? "");
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "card signin" },
    h("h1", {}, "edge-chat"),
    h("p", { class: "muted" }, "Realtime chat at the edge. Pick a name to join."),
    h("label", {}, "Your name", name),
    h("label", {}, "User id", userId),
    error,
    button,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    button.disabled = true;
    error.hidden = true;
    try {
      const session = await devLogin(location.origin, userId.value.trim(), name.value.trim());
      saveSession(session);
      showApp(session);
    } catch (err) {
      error.textContent =
        err instanceof ChatError && err.code === "not_found"
          ? "Dev sign-in is turned off on this server. Sign in on the site that links here: it opens this page with your token (#token=…)."
          : `Sign-in failed: ${err instanceof Error ? err.message : String(err)}`;
      error.hidden = false;
      button.disabled = false;
    }
  });
  replaceChildren(root, h("div", { class: "center" }, form));
  name.focus();
}

// ---- The app ----------------------------------------------------------------------------

function showApp(session: Session): void {
  const me = session.user;
  const client = new ChatClient({ baseUrl: location.origin, token: session.token });
  const roomsEl = h("ul", { class: "rooms" });
  const peopleEl = h("ul", { class: "people" });
  const peopleTitle = h("h3", {}, "Online");
  const roomInput = h("input", { name: "room", placeholder: "room id", "aria-label": "Room id", pattern: "[A-Za-z0-9_\\-]{1,64}", required: true });
  let view: ChatView | null = null;

  const signOut = (reason?: string) => {
    view?.destroy();
    window.removeEventListener("hashchange", openRoom);
    clearSession();
    showSignIn(reason);
  };
  const setOnline = (users: OnlineUser[]) => {
    const sorted = [...users].sort((a, b) => a.name.localeCompare(b.name));
    peopleTitle.textContent = `Online — ${sorted.length}`;
    replaceChildren(peopleEl, ...sorted.map((u) => personRow(u, me)));
  };
  const host = { client, me, toast, signOut, setOnline };

  const shell = h(
    "div",
    { class: "shell" },
    h(
      "aside",
      { class: "sidebar" },
      h("div", { class: "brand" }, "edge-chat"),
      h(
        "form",
        {
          class: "join",
          onsubmit: (e: Event) => {
            e.preventDefault();
            location.hash = roomInput.value.trim();
            roomInput.value = "";
          },
        },
        roomInput,
        h("button", { type: "submit" }, "Join"),
      ),
      h("h3", {}, "Rooms"),
      roomsEl,
      peopleTitle,
      peopleEl,
      h(
        "div",
        { class: "me" },
        h("span", { class: "name" }, me.name, h("small", {}, ` @${me.id}`)),
        h("button", { type: "button", class: "link", onclick: () => signOut() }, "Sign out"),
      ),
    ),
  );
  replaceChildren(root, shell);

  async function refreshRooms(active: string): Promise<void> {
    let ids: { id: string; label: string; unread: number }[] = [{ id: active, label: active, unread: 0 }];
    try {
      const { rooms } = await client.rooms();
      ids = rooms.map((r) => ({ id: r.id, label: r.title || r.id, unread: r.unread ?? 0 }));
      const title = rooms.find((r) => r.id === active)?.title ?? null;
      if (view?.roomId === active) view.setTitle(title);
      if (!ids.some((r) => r.id === active)) ids.unshift({ id: active, label: active, unread: 0 });
    } catch (err) {
      if (err instanceof ChatError && err.code === "unauthorized") return signOut("Your session has expired. Please sign in again.");
      toast(`Could not list rooms: ${err instanceof Error ? err.message : String(err)}`);
    }
    replaceChildren(
      roomsEl,
      ...ids.map((r) =>
        h(
          "li",
          {},
          h(
            "a",
            { href: `#${encodeURIComponent(r.id)}`, class: r.id === active ? "active" : undefined },
            h("span", { class: "hash" }, "#"),
            r.label,
            r.unread && r.id !== active ? h("span", { class: "badge" }, String(r.unread)) : null,
          ),
        ),
      ),
    );
  }

  function openRoom(): void {
    const roomId = currentRoomId();
    if (view?.roomId === roomId) return;
    view?.destroy();
    setOnline([]);
    view = new ChatView(host, roomId);
    shell.append(view.el);
    void view.open();
    void refreshRooms(roomId);
  }

  window.addEventListener("hashchange", openRoom);
  openRoom();
}

// A token handed over by the host site replaces whatever session this browser had.
const handedOver = takeHandedOverSession();
if (handedOver) saveSession(handedOver);
else if (handedOver === null) clearSession();
const saved = handedOver === undefined ? loadSession() : handedOver;
if (saved) showApp(saved);
else showSignIn(handedOver === null ? "The sign-in link did not carry a valid token." : undefined);
