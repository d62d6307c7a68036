/** Whether the browser believes it is online: the banner, the room's connection label, list refreshes. */
import { signal } from "@preact/signals";

export const online = signal(navigator.onLine);
addEventListener("online", () => (online.value = true));
addEventListener("offline", () => (online.value = false));
