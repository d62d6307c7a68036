/**
 * The signed-in app: a top bar (search, notifications, settings), the sidebar of conversations
 * and the main area (a room, search, administration). On a phone the sidebar and the main area
 * take turns: the list first, a room with a back link.
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { ChatRoom, currentRoom } from "../room/ChatRoom";
import { app, isAdmin, SESSION_EXPIRED, signOut } from "../state/app";
import { online } from "../state/net";
import { addNotification, loadFeed } from "../state/notifications";
import { navigate, route } from "../state/route";
import { applyUnread, load, refreshRooms } from "../state/rooms";
import { AdminPage } from "./Admin";
import { Bell } from "./Bell";
import { Avatar } from "./format";
import { Icon } from "./icons";
import { OfflineBanner } from "./OfflineBanner";
import { PeoplePicker } from "./PeoplePicker";
import { RoomList } from "./RoomList";
import { SearchPage } from "./Search";
import { Settings } from "./Settings";
import { Toasts } from "./Toasts";

export function Shell() {
  const { me, client } = app();
  const dialog = useSignal<"people" | "settings" | null>(null);
  const query = useSignal("");

  useEffect(() => {
    void load();
    void loadFeed();
    // The user socket: the bell's notifications and the list's unread counts, live.
    const user = client.user();
    user.on("notification", (n) => {
      addNotification(n);
      // Something happened in a room: its preview and count in the list follow (a room the
      // user socket does not report on yet, such as a new direct message, included).
      if (n.roomId) refreshRooms(300);
    });
    user.on("unread", (f) => applyUnread(f.roomId, f.count, currentRoom.peek()?.roomId ?? null));
    user.on("error", (f) => f.code === "unauthorized" && signOut(SESSION_EXPIRED));
    const onVisible = () => user.setStatus(document.hidden ? "away" : "online");
    document.addEventListener("visibilitychange", onVisible);
    // The community room sends no unread frames; the list catches up on focus and each minute.
    const onFocus = () => refreshRooms();
    addEventListener("focus", onFocus);
    const timer = setInterval(() => refreshRooms(), 60_000);
    const back = online.subscribe((on) => on && refreshRooms(500));
    return () => {
      back();
      user.close();
      document.removeEventListener("visibilitychange", onVisible);
      removeEventListener("focus", onFocus);
      clearInterval(timer);
    };
  }, []);

  const r = route.value;
  return (
    <div class={`shell ${r.kind === "home" ? "at-home" : "inside"}`}>
      <header class="topbar">
        <a class="brand" href="#">
          edge-chat
        </a>
        <form
          class="top-search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            if (query.value.trim()) navigate({ kind: "search", q: query.value.trim() });
          }}
        >
          <input type="search" aria-label="Search" placeholder="Search messages" value={query.value} onInput={(e) => (query.value = e.currentTarget.value)} />
        </form>
        <Bell />
        <button type="button" class="icon" aria-label="Notification settings" onClick={() => (dialog.value = "settings")}>
          <Icon name="gear" size={20} />
        </button>
        {isAdmin.value && (
          <a class="admin-link" href="#/admin">
            Admin
          </a>
        )}
      </header>
      <OfflineBanner />
      <aside class="sidebar" aria-label="Your conversations">
        {me.kind === "member" && (
          <button type="button" class="primary new-chat" onClick={() => (dialog.value = "people")}>
            New conversation
          </button>
        )}
        <RoomList />
        <div class="me">
          <Avatar user={me} size={28} />
          <span class="name">
            {me.name} <small>@{me.id}</small>
          </span>
          <button type="button" class="signout" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </aside>
      <main class="main">
        {r.kind === "room" ? (
          <ChatRoom key={r.roomId} roomId={r.roomId} />
        ) : r.kind === "search" ? (
          <SearchPage q={r.q} roomId={r.roomId} />
        ) : r.kind === "admin" ? (
          <AdminPage />
        ) : (
          <section class="welcome" aria-labelledby="welcome-title">
            <h1 id="welcome-title">Hello, {me.name}</h1>
            <p class="muted">Pick a conversation on the left, or start a new one.</p>
            {me.kind === "member" && (
              <p>
                <a href="#community">Open the community room</a>
              </p>
            )}
          </section>
        )}
      </main>
      {dialog.value === "people" && <PeoplePicker onClose={() => (dialog.value = null)} />}
      {dialog.value === "settings" && <Settings onClose={() => (dialog.value = null)} />}
      <Toasts />
    </div>
  );
}
