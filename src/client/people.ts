/**
 * Who is in a room right now, as its socket hears it: online users from the welcome (the
 * first 100, with the count of all) kept current by `presence` frames (each with the count),
 * plus everyone those frames named since; and who is typing
 * (each `on` shows a little longer than the server's 3 s, or until their message arrives).
 */
import type { OnlineUser, ServerFrame, UserRef } from "../protocol";

type Frame<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

/** How long someone shows as typing after their last `on`. */
export const TYPING_SHOWN_MS = 3500;

export class RoomPeople {
  private readonly online = new Map<string, OnlineUser>();
  private total = 0;
  private readonly typers = new Map<string, { name: string; until: number }>();

  welcome(frame: Frame<"welcome">): void {
    this.online.clear();
    for (const u of frame.online) this.online.set(u.id, u);
    this.total = frame.onlineCount ?? frame.online.length;
  }

  presence(frame: Frame<"presence">): void {
    const known = this.online.has(frame.userId);
    if (frame.status === "offline") {
      this.online.delete(frame.userId);
      this.total = frame.onlineCount ?? Math.max(0, this.total - 1);
      this.typers.delete(frame.userId);
    } else {
      this.online.set(frame.userId, { id: frame.userId, name: frame.name, status: frame.status });
      // The room's own count. A frame alone cannot say whether someone beyond the welcome's
      // first 100 was counted already, nor (coalesced, announced to sockets that joined since)
      // whether the welcome counted them; a server without the count gets the best guess.
      this.total = frame.onlineCount ?? (known ? this.total : this.total + 1);
    }
  }

  typing(frame: Frame<"typing">): void {
    if (frame.on) this.typers.set(frame.userId, { name: frame.name, until: Date.now() + TYPING_SHOWN_MS });
    else this.typers.delete(frame.userId);
  }

  /** Their message arrived: they are done typing it. */
  spoke(userId: string): void {
    this.typers.delete(userId);
  }

  onlineUsers(): OnlineUser[] {
    return [...this.online.values()];
  }
  get onlineCount(): number {
    return Math.max(this.total, this.online.size);
  }
  typingUsers(): UserRef[] {
    const now = Date.now();
    return [...this.typers].filter(([, t]) => t.until > now).map(([id, t]) => ({ id, name: t.name }));
  }
}
