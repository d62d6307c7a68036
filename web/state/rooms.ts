/**
 * The room list: what `GET /api/rooms` says, kept current by the user socket's unread counts
 * and by the messages of the open room.
 */
import { signal } from "@preact/signals";
import { ChatError, type RoomSummary } from "../../src/client";
import type { Message } from "../../src/protocol";
import { app, SESSION_EXPIRED, signOut } from "./app";
import { online } from "./net";
import { reason, toast } from "./toasts";

export const rooms = signal<RoomSummary[]>([]);
export const roomsLoaded = signal(false);
/** Archived rooms, loaded when the person opens that list. */
export const archivedRooms = signal<RoomSummary[] | null>(null);

/** One page of the list (the most the route gives), archived or not. */
const list = async (archived = false) => (await app().client.rooms({ archived, limit: 200 })).rooms;

let timer: ReturnType<typeof setTimeout> | undefined;
let inFlight: Promise<void> | null = null;

export function refreshRooms(delayMs = 0): void {
  clearTimeout(timer);
  timer = setTimeout(() => void load(), delayMs);
}

export async function load(): Promise<void> {
  if (inFlight) return inFlight;
  // Offline, a refresh can only fail; the list is refreshed when the browser is back.
  if (!online.value) return;
  inFlight = (async () => {
    try {
      rooms.value = await list();
      roomsLoaded.value = true;
      if (archivedRooms.value) archivedRooms.value = await list(true);
    } catch (err) {
      if (err instanceof ChatError && err.code === "unauthorized") return signOut(SESSION_EXPIRED);
      toast(`Could not load your rooms: ${reason(err)}`, "error");
    } finally {
      inFlight = null;
    }
  })();
  return inFlight;
}

export function roomById(id: string): RoomSummary | undefined {
  return rooms.value.find((r) => r.id === id) ?? archivedRooms.value?.find((r) => r.id === id);
}

/** The user socket's count for a room; a room we do not list yet means the list is stale. */
export function applyUnread(roomId: string, count: number, openRoomId: string | null): void {
  const room = rooms.value.find((r) => r.id === roomId);
  if (!room) return refreshRooms(200);
  const unread = roomId === openRoomId ? 0 : count;
  if (room.unread === unread) return;
  rooms.value = rooms.value.map((r) => (r.id === roomId ? { ...r, unread } : r));
  // The count moved because of a message: its preview and the order follow.
  if (count > (room.unread ?? 0)) refreshRooms(300);
}

/** A message seen live in the open room: its preview, and the room to the top. */
export function noteMessage(m: Message): void {
  const room = rooms.value.find((r) => r.id === m.roomId);
  if (!room) return refreshRooms(200);
  if (room.lastMessage && room.lastMessage.seq > m.seq) return;
  rooms.value = [{ ...room, lastMessage: m, unread: 0 }, ...rooms.value.filter((r) => r.id !== m.roomId)];
}

export function noteUpdated(m: Message): void {
  if (rooms.value.some((r) => r.lastMessage?.id === m.id)) {
    rooms.value = rooms.value.map((r) => (r.lastMessage?.id === m.id ? { ...r, lastMessage: m } : r));
  }
}

export function markSeen(roomId: string): void {
  if (rooms.value.some((r) => r.id === roomId && r.unread)) {
    rooms.value = rooms.value.map((r) => (r.id === roomId ? { ...r, unread: 0 } : r));
  }
}

export function upsertRoom(room: RoomSummary): void {
  const rest = rooms.value.filter((r) => r.id !== room.id);
  rooms.value = [room, ...rest];
}

export async function setArchived(roomId: string, archived: boolean): Promise<void> {
  try {
    await app().client.archive(roomId, archived);
    toast(archived ? "Conversation archived" : "Conversation restored");
    if (archived) rooms.value = rooms.value.filter((r) => r.id !== roomId);
    if (archivedRooms.value) archivedRooms.value = await list(true);
    if (!archived) await load();
  } catch (err) {
    toast(`Could not ${archived ? "archive" : "restore"} it: ${reason(err)}`, "error");
  }
}

export async function showArchived(show: boolean): Promise<void> {
  if (!show) return void (archivedRooms.value = null);
  try {
    archivedRooms.value = await list(true);
  } catch (err) {
    toast(`Could not load archived rooms: ${reason(err)}`, "error");
  }
}
