/** Small shared pieces: avatars, times, previews. */
import type { Message } from "../../src/protocol";

/** A stable hue per user id, so each person keeps their colour everywhere. */
export function hueOf(id: string): number {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}

export function Avatar({ user, size = 36 }: { user: { id: string; name: string }; size?: number }) {
  const first = [...user.name.trim()][0]?.toUpperCase() ?? "?";
  return (
    <span class="avatar" aria-hidden="true" style={{ "--hue": String(hueOf(user.id)), width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.42)}px` }}>
      {first}
    </span>
  );
}

export function shortTime(iso: string): string {
  const d = new Date(iso);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return d.toLocaleDateString([], { month: "short", day: "numeric" });
}

export function clockTime(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function dayLabel(iso: string): string {
  const d = new Date(iso);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86_400_000);
  if (d.toDateString() === today.toDateString()) return "Today";
  if (d.toDateString() === yesterday.toDateString()) return "Yesterday";
  return d.toLocaleDateString([], { weekday: "long", month: "long", day: "numeric", year: d.getFullYear() === today.getFullYear() ? undefined : "numeric" });
}

/** One line about a message, for the room list and notifications. */
export function preview(m: Message | null | undefined, meId: string): string {
  if (!m) return "No messages yet";
  if (m.deletedAt) return "Message deleted";
  const who = m.author.id === meId ? "You" : m.author.name;
  const files = m.attachments?.length ? `📎 ${m.attachments.map((a) => a.name).join(", ")}` : "";
  return `${who}: ${m.text || files}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
