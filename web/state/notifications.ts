/** The notification feed behind the bell: the first page over REST, then live frames. */
import { computed, signal } from "@preact/signals";
import type { Notification } from "../../src/protocol";
import { app } from "./app";
import { reason, toast } from "./toasts";

export const feed = signal<Notification[]>([]);
export const feedNext = signal<number | null>(null);
export const unseen = computed(() => feed.value.filter((n) => !n.readAt).length);

export async function loadFeed(more = false): Promise<void> {
  try {
    const page = await app().client.notifications({ before: more ? (feedNext.value ?? undefined) : undefined, limit: 30 });
    const known = new Set(page.notifications.map((n) => n.id));
    feed.value = more ? [...feed.value, ...page.notifications.filter((n) => !feed.value.some((f) => f.id === n.id))] : [...page.notifications, ...feed.value.filter((n) => !known.has(n.id) && !n.readAt)];
    feedNext.value = page.nextBefore;
  } catch (err) {
    toast(`Could not load notifications: ${reason(err)}`, "error");
  }
}

/** A live one: once per id, newest first. */
export function addNotification(n: Notification): void {
  if (feed.value.some((f) => f.id === n.id)) return;
  feed.value = [n, ...feed.value];
}

export async function markRead(id: string): Promise<void> {
  const now = new Date().toISOString();
  feed.value = feed.value.map((n) => (n.id === id && !n.readAt ? { ...n, readAt: now } : n));
  await app().client.markNotificationRead(id).catch(() => {});
}

export async function markAllRead(): Promise<void> {
  await Promise.all(feed.value.filter((n) => !n.readAt).map((n) => markRead(n.id)));
}

export async function removeNotification(id: string): Promise<void> {
  feed.value = feed.value.filter((n) => n.id !== id);
  await app().client.deleteNotification(id).catch((err) => toast(`Could not delete it: ${reason(err)}`, "error"));
}

/** Notifications about a room the person has now opened are no longer news. */
export function readAllOf(roomId: string): void {
  for (const n of feed.value) if (n.roomId === roomId && !n.readAt) void markRead(n.id);
}
