/** Notification settings: in the app, by email, by browser push. */
import { useSignal, useSignalEffect } from "@preact/signals";
import type { NotificationPreferences as Preferences } from "../../src/client";
import { currentSubscription, disablePush, enablePush, pushSupported } from "../push";
import { app } from "../state/app";
import { reason, toast } from "../state/toasts";
import { Dialog } from "./Dialog";

export function Settings({ onClose }: { onClose(): void }) {
  const prefs = useSignal<Preferences | null>(null);
  const pushOn = useSignal(false);
  const busy = useSignal(false);
  const pushError = useSignal("");

  useSignalEffect(() => {
    app().client.notificationPreferences().then((p) => (prefs.value = p), (err) => toast(`Could not load settings: ${reason(err)}`, "error"));
    void currentSubscription().then((s) => (pushOn.value = !!s), () => {});
  });

  async function set(patch: Partial<Preferences>) {
    try {
      prefs.value = await app().client.setNotificationPreferences(patch);
    } catch (err) {
      toast(`Could not save: ${reason(err)}`, "error");
    }
  }

  async function togglePush(on: boolean) {
    busy.value = true;
    pushError.value = "";
    try {
      await (on ? enablePush(app().client) : disablePush(app().client));
      pushOn.value = on;
      prefs.value = await app().client.notificationPreferences();
    } catch (err) {
      pushError.value = reason(err);
    } finally {
      busy.value = false;
    }
  }

  const p = prefs.value;
  return (
    <Dialog title="Notification settings" onClose={onClose}>
      {!p ? (
        <p class="muted">Loading…</p>
      ) : (
        <div class="settings">
          <label class="check">
            <input type="checkbox" checked={p.inApp} onChange={(e) => void set({ inApp: e.currentTarget.checked })} /> Show notifications in the app
          </label>
          <label>
            Email me
            <select value={p.email} onChange={(e) => void set({ email: e.currentTarget.value as Preferences["email"] })}>
              <option value="instant">about what I missed, soon after</option>
              <option value="daily">a daily digest</option>
              <option value="off">never</option>
            </select>
          </label>
          <label class="check">
            <input type="checkbox" checked={pushOn.value} disabled={busy.value || !pushSupported()} onChange={(e) => void togglePush(e.currentTarget.checked)} /> Browser notifications on this device
          </label>
          {!pushSupported() && <p class="muted">This browser cannot receive push notifications.</p>}
          {pushError.value && (
            <p class="error" role="alert">
              Could not turn on browser notifications: {pushError.value}
            </p>
          )}
          {p.mutedRooms.length > 0 && <p class="muted">{p.mutedRooms.length} muted conversation(s); unmute in each one's settings.</p>}
        </div>
      )}
    </Dialog>
  );
}
