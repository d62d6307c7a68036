/**
 * Web Push from a page: subscribe the browser with the server's VAPID key and register the
 * subscription, or undo both. The browser types are declared here by shape, so the client
 * builds (and runs in Node) without the DOM's types.
 */
import type { RestClient } from "./rest";

/** `PushSubscription.toJSON()`. */
export interface PushSubscriptionJson {
  endpoint?: string;
  expirationTime?: number | null;
  keys?: Record<string, string>;
}
export interface PushSubscriptionLike {
  readonly endpoint: string;
  toJSON(): PushSubscriptionJson;
  unsubscribe(): Promise<boolean>;
}
/** A `ServiceWorkerRegistration`, as far as push needs it. */
export interface PushRegistrationLike {
  readonly pushManager: {
    getSubscription(): Promise<PushSubscriptionLike | null>;
    subscribe(options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array<ArrayBuffer> }): Promise<PushSubscriptionLike>;
  };
}

/**
 * Subscribes this browser (reusing a subscription it already has) and registers it with the
 * server. Ask for `Notification.requestPermission()` first, from a user gesture.
 */
export async function enablePush(api: RestClient, registration: PushRegistrationLike): Promise<PushSubscriptionLike> {
  const existing = await registration.pushManager.getSubscription();
  const subscription =
    existing ??
    (await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: fromBase64url(await api.pushPublicKey()),
    }));
  await api.registerPushSubscription(subscription.toJSON());
  return subscription;
}

/** Unregisters this browser's subscription with the server, then unsubscribes it. */
export async function disablePush(api: RestClient, registration: PushRegistrationLike): Promise<void> {
  const subscription = await registration.pushManager.getSubscription();
  if (!subscription) return;
  await api.unregisterPushSubscription(subscription.endpoint);
  await subscription.unsubscribe();
}

function fromBase64url(s: string): Uint8Array<ArrayBuffer> {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}
