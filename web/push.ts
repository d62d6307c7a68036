/**
 * Web Push opt-in: the service worker (/sw.js, built from web/sw.ts), the browser's
 * subscription with the server's VAPID key, and the server's copy of that subscription.
 */
import type { Api } from "./api";

export const pushSupported = () => "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

export async function currentSubscription(): Promise<PushSubscription | null> {
  if (!pushSupported()) return null;
  const reg = await navigator.serviceWorker.getRegistration("/");
  return (await reg?.pushManager.getSubscription()) ?? null;
}

export async function enablePush(api: Api): Promise<void> {
  if (!pushSupported()) throw new Error("this browser cannot receive push notifications");
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error("notifications are blocked for this site in the browser's settings");
  // A classic worker: it imports nothing, and every browser with push takes those.
  await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  const reg = await navigator.serviceWorker.ready;
  const { publicKey } = await api.vapidKey();
  const sub = (await reg.pushManager.getSubscription()) ?? (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromBase64Url(publicKey) }));
  await api.subscribePush(sub.toJSON());
  await api.setPreferences({ push: true });
}

export async function disablePush(api: Api): Promise<void> {
  const sub = await currentSubscription();
  if (sub) {
    await api.unsubscribePush(sub.endpoint);
    await sub.unsubscribe();
  }
  await api.setPreferences({ push: false });
}

function fromBase64Url(s: string): Uint8Array<ArrayBuffer> {
  const raw = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
