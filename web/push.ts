/**
 * Web Push opt-in from the settings: the browser's permission, the service worker (/sw.js,
 * built from web/sw.ts), then the client's `enablePush` (subscription with the server's VAPID
 * key, registered with the server) and the person's preference.
 */
import type { ChatClient } from "../src/client";

export const pushSupported = () => "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

export async function currentSubscription(): Promise<PushSubscription | null> {
  if (!pushSupported()) return null;
  const reg = await navigator.serviceWorker.getRegistration("/");
  return (await reg?.pushManager.getSubscription()) ?? null;
}

export async function enablePush(client: ChatClient): Promise<void> {
  if (!pushSupported()) throw new Error("this browser cannot receive push notifications");
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error("notifications are blocked for this site in the browser's settings");
  // A classic worker: it imports nothing, and every browser with push takes those.
  await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  await client.enablePush(await navigator.serviceWorker.ready);
  await client.setNotificationPreferences({ push: true });
}

export async function disablePush(client: ChatClient): Promise<void> {
  const reg = await navigator.serviceWorker.getRegistration("/");
  if (reg) await client.disablePush(reg);
  await client.setNotificationPreferences({ push: false });
}
