/**
 * The room's own copy of who belongs to it, checked on every socket frame and RPC without
 * touching D1. Changes arrive through the room's RPC methods (which also write them through
 * to D1), so the copy is never stale.
 *
 * Staff are not in that copy: they reach every visitor room by their role (the identity's
 * `roles`, from the token claim or STAFF_USER_IDS), so staff who arrive after a room was made
 * answer it too, and someone who is no longer staff no longer can.
 */
import type { Role, RoomKind } from "../db/schema";
import type { Identity } from "../protocol";

export interface Member {
  id: string;
  name: string;
  role: Role;
}

export interface RoomInfo {
  kind: RoomKind;
  title: string | null;
  createdBy: string | null;
  createdAt: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS members (user_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS room_info (id INTEGER PRIMARY KEY CHECK (id = 1), kind TEXT NOT NULL, title TEXT, created_by TEXT, created_at TEXT NOT NULL);
`;

export class Membership {
  private readonly members = new Map<string, Member>();
  private roomInfo: RoomInfo | null;

  constructor(
    private readonly sql: SqlStorage,
    /** Staff (configured) are admins of the community, so it always has someone to run it. */
    private readonly staff: readonly string[] = [],
  ) {
    sql.exec(SCHEMA);
    for (const m of sql.exec<{ user_id: string; name: string; role: Role }>("SELECT user_id, name, role FROM members")) {
      this.members.set(m.user_id, { id: m.user_id, name: m.name, role: m.role });
    }
    const info = sql
      .exec<{ kind: RoomKind; title: string | null; created_by: string | null; created_at: string }>(
        "SELECT kind, title, created_by, created_at FROM room_info",
      )
      .toArray()[0];
    this.roomInfo = info
      ? { kind: info.kind, title: info.title, createdBy: info.created_by, createdAt: info.created_at }
      : null;
  }

  get info(): RoomInfo | null {
    return this.roomInfo;
  }

  /** The user's role here, or null if they may not use this room. */
  roleOf(user: Identity): Role | null {
    if (this.roomInfo === null) return null;
    if (this.roomInfo.kind === "community") {
      // Every member belongs to the community; rows exist only for raised roles. Staff and
      // service admins run it.
      if (user.kind !== "member") return null;
      return this.isStaff(user) || user.roles?.includes("admin") ? "admin" : (this.members.get(user.id)?.role ?? "member");
    }
    if (this.roomInfo.kind === "visitor") {
      // The visitor by their row; members only by the staff role (a staff row from before
      // roles, or from a read position, grants nothing by itself).
      if (user.kind === "member") return this.isStaff(user) ? "admin" : null;
      return this.members.get(user.id)?.role ?? null;
    }
    return this.members.get(user.id)?.role ?? null;
  }

  /** Staff: the `staff` service role (token claim or STAFF_USER_IDS). Visitors never are. */
  isStaff(user: Identity): boolean {
    return user.kind === "member" && (user.roles?.includes("staff") === true || this.staff.includes(user.id));
  }

  get(userId: string): Member | undefined {
    return this.members.get(userId);
  }

  list(): Member[] {
    return [...this.members.values()];
  }

  adminCount(): number {
    let n = this.roomInfo?.kind === "community" ? this.staff.length : 0;
    for (const m of this.members.values()) if (m.role === "admin") n++;
    return n;
  }

  initialize(info: RoomInfo, members: Member[]): void {
    this.sql.exec(
      "INSERT INTO room_info (id, kind, title, created_by, created_at) VALUES (1, ?, ?, ?, ?)",
      info.kind,
      info.title,
      info.createdBy,
      info.createdAt,
    );
    this.roomInfo = info;
    for (const m of members) this.put(m);
  }

  rename(title: string): void {
    this.sql.exec("UPDATE room_info SET title = ?", title);
    this.roomInfo = { ...this.roomInfo!, title };
  }

  put(member: Member): void {
    this.sql.exec(
      "INSERT INTO members (user_id, name, role) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, role = excluded.role",
      member.id,
      member.name,
      member.role,
    );
    this.members.set(member.id, member);
  }

  remove(userId: string): void {
    this.sql.exec("DELETE FROM members WHERE user_id = ?", userId);
    this.members.delete(userId);
  }
}
