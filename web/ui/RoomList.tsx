/** The person's conversations, newest activity first, with unread counts; archive and restore. */
import type { RoomSummary } from "../../src/client";
import { app } from "../state/app";
import { route } from "../state/route";
import { archivedRooms, rooms, roomsLoaded, setArchived, showArchived } from "../state/rooms";
import { titleOf } from "../room/live-room";
import { Avatar, preview, shortTime } from "./format";
import { Icon } from "./icons";

export function RoomList() {
  const active = route.value.kind === "room" ? route.value.roomId : null;
  const archived = archivedRooms.value;
  return (
    <nav class="room-nav" aria-label="Conversations">
      {!roomsLoaded.value && <p class="muted pad">Loading…</p>}
      <ul class="rooms">
        {rooms.value.map((r) => (
          <RoomItem key={r.id} r={r} active={r.id === active} />
        ))}
      </ul>
      {roomsLoaded.value && rooms.value.length === 0 && <p class="muted pad">No conversations yet.</p>}
      <button type="button" class="link archived-toggle" aria-expanded={archived !== null} onClick={() => void showArchived(archived === null)}>
        {archived === null ? "Show archived" : "Hide archived"}
      </button>
      {archived && (
        <ul class="rooms archived" aria-label="Archived conversations">
          {archived.length === 0 && <li class="muted pad">Nothing archived.</li>}
          {archived.map((r) => (
            <RoomItem key={r.id} r={r} active={r.id === active} archived />
          ))}
        </ul>
      )}
    </nav>
  );
}

function RoomItem({ r, active, archived }: { r: RoomSummary; active: boolean; archived?: boolean }) {
  const me = app().me;
  const title = titleOf(r, undefined, r.id);
  const unread = active ? 0 : (r.unread ?? 0);
  return (
    <li class={`room-item ${active ? "active" : ""} ${unread ? "unread" : ""}`}>
      <a href={`#${encodeURIComponent(r.id)}`} aria-current={active ? "page" : undefined}>
        {r.kind === "direct" ? <Avatar user={{ id: r.id, name: title }} size={32} /> : <span class={`room-icon ${r.kind}`} aria-hidden="true">{r.kind === "visitor" ? "?" : "#"}</span>}
        <span class="room-text">
          <span class="room-line">
            <span class="room-title">{title}</span>
            {r.kind === "visitor" && <span class="tag">Visitor</span>}
            {r.lastMessage && <time class="room-time">{shortTime(r.lastMessage.createdAt)}</time>}
          </span>
          <span class="room-line">
            <span class="room-last">{preview(r.lastMessage, me.id)}</span>
            {unread > 0 && (
              <span class="badge" aria-label={`${unread} unread`}>
                {unread > 99 ? "99+" : unread}
              </span>
            )}
          </span>
        </span>
      </a>
      {r.kind !== "community" && (
        <button type="button" class="icon room-action" aria-label={`${archived ? "Restore" : "Archive"} ${title}`} onClick={() => void setArchived(r.id, !archived)}>
          <Icon name={archived ? "restore" : "archive"} />
        </button>
      )}
    </li>
  );
}
