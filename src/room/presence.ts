/**
 * Who is online in the room, kept per user and updated in O(1) as sockets come and go, and
 * the coalescing of what the room hears about it.
 *
 * It is fed only "user X gained a socket, lost one, a socket's status changed", so anything
 * that holds sockets can feed it: the room's own Connections (and, after hibernation, their
 * attachments through `restore`), and the sockets its shards hold (./shard-sockets.ts).
 *
 * Changes are collected and leave together: at once (at the end of the current turn) while
 * the room has fewer than COALESCE_FROM_SOCKETS sockets, otherwise once per `intervalMs`. A
 * user's announced state is compared with their state when the changes leave, so a user who
 * came and went in between produces nothing, and only the last state counts.
 */
import type { OnlineUser, PresenceStatus, UserRef } from "../protocol";

/** A socket's own status: a socket is online or away, a user with none is offline. */
export type SocketStatus = Exclude<PresenceStatus, "offline">;

/** A user's status before and after one change, for the caller's own reports. */
export interface Transition {
  before: PresenceStatus;
  after: PresenceStatus;
}

/** One user's new state as it leaves, with the room's count of online users once it applies. */
export interface PresenceChange {
  userId: string;
  name: string;
  status: PresenceStatus;
  onlineCount: number;
}

export interface PresenceOptions {
  /** How long changes in a large room wait to leave together; 0: always at once. */
  intervalMs: number;
  /** Receives the changes that leave together, in the order their users first changed. */
  announce: (changes: PresenceChange[]) => void;
}

/**
 * Rooms with fewer sockets than this announce changes at once. A change costs one send per
 * socket (about 30 µs each), so below 100 sockets one costs at most ~3 ms and even a room
 * filling up at once costs ~5,000 sends in all; past it, one send per join per socket is what
 * made filling a room quadratic (2,000 joins: two million sends), and the interval bounds it.
 */
export const COALESCE_FROM_SOCKETS = 100;

interface UserPresence {
  id: string;
  name: string;
  online: number;
  away: number;
}

export class Presence {
  /** Users with at least one socket, in the order they came online (the welcome's first 100). */
  private readonly users = new Map<string, UserPresence>();
  private socketCount = 0;
  /** Users changed since the last announcement, first change first, with what was announced. */
  private readonly pending = new Map<string, { name: string; announced: PresenceStatus }>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private soon = false;

  constructor(private readonly options: PresenceOptions) {}

  /** A socket of this user opened with this status. */
  gained(user: UserRef, status: SocketStatus): Transition {
    const before = this.statusOf(user.id);
    this.count(user, status, +1);
    return this.note(user.id, before);
  }

  /** A socket of this user, with this status, closed. */
  lost(userId: string, status: SocketStatus): Transition {
    const before = this.statusOf(userId);
    const user = this.users.get(userId);
    if (!user) return { before, after: before };
    this.count(user, status, -1);
    return this.note(userId, before, user.name);
  }

  /** One of the user's sockets went from one status to the other. */
  changed(userId: string, from: SocketStatus, to: SocketStatus): Transition {
    const before = this.statusOf(userId);
    const user = this.users.get(userId);
    if (!user || from === to) return { before, after: before };
    this.count(user, from, -1);
    this.count(user, to, +1);
    return this.note(userId, before);
  }

  /** Counts a socket that was already announced (the room woke from hibernation with it). */
  restore(user: UserRef, status: SocketStatus): void {
    this.count(user, status, +1);
  }

  statusOf(userId: string): PresenceStatus {
    const user = this.users.get(userId);
    return !user ? "offline" : user.online > 0 ? "online" : "away";
  }

  /** The name of a user online or away. */
  nameOf(userId: string): string | undefined {
    return this.users.get(userId)?.name;
  }

  /** Users online or away. */
  get onlineCount(): number {
    return this.users.size;
  }

  get sockets(): number {
    return this.socketCount;
  }

  /** The first `limit` users online or away, longest online first. */
  first(limit: number): OnlineUser[] {
    const out: OnlineUser[] = [];
    for (const user of this.users.values()) {
      if (out.length >= limit) break;
      out.push(this.entry(user));
    }
    return out;
  }

  /** Everyone online or away, longest online first. */
  list(): OnlineUser[] {
    return [...this.users.values()].map((user) => this.entry(user));
  }

  userIds(): string[] {
    return [...this.users.keys()];
  }

  /** Announces what changed since the last announcement, now. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.size === 0) return;
    const changed: (Omit<PresenceChange, "onlineCount"> & { delta: number })[] = [];
    let delta = 0;
    for (const [userId, { name, announced }] of this.pending) {
      const status = this.statusOf(userId);
      if (status === announced) continue;
      const d = (status === "offline" ? 0 : 1) - (announced === "offline" ? 0 : 1);
      changed.push({ userId, name: this.users.get(userId)?.name ?? name, status, delta: d });
      delta += d;
    }
    this.pending.clear();
    if (changed.length === 0) return;
    // Each change carries the count once it applies, so a client can keep an exact count even
    // of users beyond the welcome's first 100 (it cannot tell from a frame alone whether they
    // were counted).
    let count = this.users.size - delta;
    this.options.announce(
      changed.map(({ delta: d, ...change }) => {
        count += d;
        return { ...change, onlineCount: count };
      }),
    );
  }

  private count(user: UserRef, status: SocketStatus, by: 1 | -1): void {
    let entry = this.users.get(user.id);
    if (!entry) {
      if (by < 0) return;
      entry = { id: user.id, name: user.name, online: 0, away: 0 };
      this.users.set(user.id, entry);
    }
    entry[status] += by;
    this.socketCount += by;
    if (entry.online + entry.away <= 0) this.users.delete(user.id);
  }

  private note(userId: string, before: PresenceStatus, name?: string): Transition {
    const after = this.statusOf(userId);
    if (after !== before && !this.pending.has(userId)) {
      this.pending.set(userId, { name: name ?? this.users.get(userId)?.name ?? userId, announced: before });
    }
    if (this.pending.size > 0) this.schedule();
    return { before, after };
  }

  private schedule(): void {
    if (this.options.intervalMs <= 0 || this.socketCount < COALESCE_FROM_SOCKETS) {
      // At the end of this turn, not now: a socket the room replaces (the cap closes a user's
      // oldest as their new one opens) is not a change, and frames of the same turn share a send.
      if (this.soon) return;
      this.soon = true;
      queueMicrotask(() => {
        this.soon = false;
        this.flush();
      });
    } else {
      this.timer ??= setTimeout(() => this.flush(), this.options.intervalMs);
    }
  }

  private entry(user: UserPresence): OnlineUser {
    return { id: user.id, name: user.name, status: user.online > 0 ? "online" : "away" };
  }
}
