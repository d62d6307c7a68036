/** The notification bell: how many are unread, and the feed (live from the user socket). */
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { Notification } from "../../src/protocol";
import { feed, feedNext, loadFeed, markAllRead, markRead, removeNotification, unseen } from "../state/notifications";
import { navigate } from "../state/route";
import { shortTime } from "./format";
import { Icon } from "./icons";

export function Bell() {
  const open = useSignal(false);
  const ref = useRef<HTMLDivElement>(null);
  const count = unseen.value;
  useEffect(() => {
    if (!open.value) return;
    const outside = (e: MouseEvent) => !ref.current?.contains(e.target as Node) && (open.value = false);
    document.addEventListener("mousedown", outside);
    return () => document.removeEventListener("mousedown", outside);
  }, [open.value]);

  function openOne(n: Notification) {
    void markRead(n.id);
    open.value = false;
    if (n.roomId) navigate({ kind: "room", roomId: n.roomId });
  }

  return (
    <div class="bell" ref={ref} onKeyDown={(e) => e.key === "Escape" && open.value && ((open.value = false), ref.current?.querySelector("button")?.focus())}>
      <button type="button" class="icon bell-button" aria-expanded={open.value} aria-label={count ? `Notifications, ${count} unread` : "Notifications"} onClick={() => (open.value = !open.value)}>
        <Icon name="bell" size={20} />
        {count > 0 && (
          <span class="badge" aria-hidden="true">
            {count > 99 ? "99+" : count}
          </span>
        )}
      </button>
      {open.value && (
        <section class="popover feed" aria-label="Notifications">
          <div class="feed-head">
            <h2>Notifications</h2>
            {count > 0 && (
              <button type="button" class="link" onClick={() => void markAllRead()}>
                Mark all as read
              </button>
            )}
          </div>
          {feed.value.length === 0 && <p class="muted pad">Nothing yet. Direct messages, mentions, replies and invitations show up here.</p>}
          <ul>
            {feed.value.map((n) => (
              <li key={n.id} class={n.readAt ? "read" : "unread"}>
                <button type="button" class="feed-item" onClick={() => openOne(n)}>
                  <span class="feed-title">{n.title}</span>
                  <span class="feed-body">{n.body}</span>
                  <time>{shortTime(n.createdAt)}</time>
                </button>
                <button type="button" class="icon" aria-label={`Dismiss: ${n.title}`} onClick={() => void removeNotification(n.id)}>
                  <Icon name="close" size={14} />
                </button>
              </li>
            ))}
          </ul>
          {feedNext.value && (
            <button type="button" class="link pad" onClick={() => void loadFeed(true)}>
              Older notifications
            </button>
          )}
        </section>
      )}
    </div>
  );
}
