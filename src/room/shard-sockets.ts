/**
 * The sockets the room's shards hold (src/shard/), as the room knows them: who is behind each,
 * on which shard, with what status. The room is the only authority on membership and presence,
 * so it keeps this roster itself, in its own SQLite (it survives the room's hibernation and
 * eviction; the shards' sockets do not close when the room leaves memory), and feeds the same
 * per-user Presence its own sockets feed: a user with sockets here and on two shards counts once.
 */
import type { Identity } from "../protocol";
import type { RemoteTarget } from "./outbox";
import type { Presence, SocketStatus, Transition } from "./presence";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shard_sockets (
  id TEXT PRIMARY KEY,
  shard INTEGER NOT NULL,
  user TEXT NOT NULL,
  status TEXT NOT NULL,
  since INTEGER NOT NULL,
  request_id TEXT
) WITHOUT ROWID;
`;

/** A socket on one of the room's shards: where frames for it go, and who it is. */
export class ShardSocket implements RemoteTarget {
  constructor(
    readonly shard: number,
    readonly id: string,
    readonly user: Identity,
    public status: SocketStatus,
    readonly since: number,
    readonly requestId?: string,
  ) {}
}

export class ShardSockets {
  private readonly byId = new Map<string, ShardSocket>();
  private readonly byUser = new Map<string, Set<ShardSocket>>();
  private readonly perShard = new Map<number, number>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly presence: Presence,
  ) {
    sql.exec(SCHEMA);
    const rows = sql
      .exec<{ id: string; shard: number; user: string; status: string; since: number; request_id: string | null }>(
        "SELECT id, shard, user, status, since, request_id FROM shard_sockets ORDER BY since",
      )
      .toArray();
    for (const row of rows) {
      const socket = new ShardSocket(row.shard, row.id, JSON.parse(row.user) as Identity, row.status as SocketStatus, row.since, row.request_id ?? undefined);
      this.index(socket);
      presence.restore(socket.user, socket.status);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): ShardSocket | undefined {
    return this.byId.get(id);
  }

  /** How many sockets the room knows on this shard. */
  countOn(shard: number): number {
    return this.perShard.get(shard) ?? 0;
  }

  /** Shards holding at least one socket: the ones the room's frames go to. */
  shards(): number[] {
    return [...this.perShard.keys()];
  }

  idsOn(shard: number): string[] {
    return [...this.byId.values()].filter((s) => s.shard === shard).map((s) => s.id);
  }

  socketsOf(userId: string): ShardSocket[] {
    const own = this.byUser.get(userId);
    return own ? [...own] : [];
  }

  add(shard: number, id: string, user: Identity, requestId?: string): Transition & { socket: ShardSocket } {
    const socket = new ShardSocket(shard, id, user, "online", Date.now(), requestId);
    this.sql.exec(
      "INSERT OR REPLACE INTO shard_sockets (id, shard, user, status, since, request_id) VALUES (?, ?, ?, ?, ?, ?)",
      id,
      shard,
      JSON.stringify(user),
      socket.status,
      socket.since,
      requestId ?? null,
    );
    this.index(socket);
    return { socket, ...this.presence.gained(user, socket.status) };
  }

  /** Forgets the socket; returns it with its user's status before and after. */
  remove(id: string): (Transition & { socket: ShardSocket }) | undefined {
    const socket = this.byId.get(id);
    if (!socket) return undefined;
    this.sql.exec("DELETE FROM shard_sockets WHERE id = ?", id);
    this.byId.delete(id);
    const own = this.byUser.get(socket.user.id);
    own?.delete(socket);
    if (own?.size === 0) this.byUser.delete(socket.user.id);
    const left = (this.perShard.get(socket.shard) ?? 1) - 1;
    if (left > 0) this.perShard.set(socket.shard, left);
    else this.perShard.delete(socket.shard);
    return { socket, ...this.presence.lost(socket.user.id, socket.status) };
  }

  /** Sets every shard socket of the user to the status (the caller reads the user's transition from Presence). */
  setStatus(userId: string, status: SocketStatus): void {
    for (const socket of this.socketsOf(userId)) {
      if (socket.status === status) continue;
      this.sql.exec("UPDATE shard_sockets SET status = ? WHERE id = ?", status, socket.id);
      this.presence.changed(userId, socket.status, status);
      socket.status = status;
    }
  }

  private index(socket: ShardSocket): void {
    this.byId.set(socket.id, socket);
    let own = this.byUser.get(socket.user.id);
    if (!own) this.byUser.set(socket.user.id, (own = new Set()));
    own.add(socket);
    this.perShard.set(socket.shard, (this.perShard.get(socket.shard) ?? 0) + 1);
  }
}
