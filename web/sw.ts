/**
 * The service worker (built to /sw.js): shows Web Push notifications and opens the chat at
 * the room when one is clicked. The push payload is `{ id, title, body, roomId?, url? }`
 * (docs/notifications.md); `tag: id` makes a repeated push replace the first, not pile up.
 */
export {};

// Only what is used here of the service worker's scope (the DOM library does not describe it).
interface PushPayload {
  id: string;
  title: string;
  body: string;
  roomId?: string;
  url?: string;
}
interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface PushEvent extends ExtendableEvent {
  data: { json(): unknown } | null;
}
interface NotificationEvent extends ExtendableEvent {
  notification: Notification;
}
interface WindowClient {
  url: string;
  focus(): Promise<WindowClient>;
  navigate(url: string): Promise<WindowClient | null>;
}
interface SwScope {
  registration: ServiceWorkerRegistration;
  location: Location;
  clients: { matchAll(o: { type: "window"; includeUncontrolled: boolean }): Promise<WindowClient[]>; openWindow(url: string): Promise<unknown>; claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: "push", fn: (e: PushEvent) => void): void;
  addEventListener(type: "notificationclick", fn: (e: NotificationEvent) => void): void;
  addEventListener(type: "install" | "activate", fn: (e: ExtendableEvent) => void): void;
}
const sw = self as unknown as SwScope;

sw.addEventListener("install", (e) => e.waitUntil(sw.skipWaiting()));
sw.addEventListener("activate", (e) => e.waitUntil(sw.clients.claim()));

sw.addEventListener("push", (event) => {
  let n: PushPayload;
  try {
    n = event.data?.json() as PushPayload;
  } catch {
    return;
  }
  if (!n || typeof n.title !== "string") return;
  event.waitUntil(sw.registration.showNotification(n.title, { body: n.body, tag: n.id, data: n, icon: undefined }));
});

sw.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const n = event.notification.data as PushPayload | undefined;
  const target = new URL(n?.roomId ? `/#${encodeURIComponent(n.roomId)}` : "/", sw.location.origin).href;
  event.waitUntil(
    (async () => {
      const open = await sw.clients.matchAll({ type: "window", includeUncontrolled: true });
      const same = open.find((c) => new URL(c.url).origin === sw.location.origin);
      if (same) {
        await same.focus();
        await same.navigate(target);
      } else {
        await sw.clients.openWindow(target);
      }
    })(),
  );
});
