/** Whether the browser believes it is online; sends wait while it is not. */
import { signal } from "@preact/signals";

export const online = signal(navigator.onLine);
addEventListener("online", () => (online.value = true));
addEventListener("offline", () => (online.value = false));
