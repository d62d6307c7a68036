/** Short notices in a live region: errors and confirmations that need no answer. */
import { signal } from "@preact/signals";

export interface Toast {
  id: number;
  text: string;
  kind: "info" | "error";
}

export const toasts = signal<Toast[]>([]);
let next = 1;

export function toast(text: string, kind: Toast["kind"] = "info"): void {
  const id = next++;
  toasts.value = [...toasts.value.slice(-3), { id, text, kind }];
  setTimeout(() => dismiss(id), 6000);
}

export function dismiss(id: number): void {
  toasts.value = toasts.value.filter((t) => t.id !== id);
}

/** An error as a person reads it. */
export function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
