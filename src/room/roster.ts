/**
 * Membership changes. Each one is checked against the rules, written through to D1, then
 * applied to the room's own copy, with no other event in between (blockConcurrencyWhile), so
 * two admins acting at once cannot both pass a "last admin" check.
 */
import { deleteMember, insertRoom, putMember, type NewRoom } from "../db/rooms";
import type { Role } from "../db/schema";
import type { Identity } from "../protocol";
import type { Member } from "./membership";
import { fail, ok, type RoomParts, type RoomResult } from "./parts";
import { canAddMembers, canChangeRoles, canRemove } from "./rules";
import { eventId } from "./events";

export class Roster {
  constructor(
    private readonly p: RoomParts,
    /** Closes a removed member's sockets in this room. */
    private readonly evict: (userId: string) => void,
  ) {}

  /** Creates the room; for a room that already exists, reports it and changes nothing. */
  create(room: NewRoom, roster: Member[]): Promise<RoomResult<{ created: boolean }>> {
    return this.exclusive(async () => {
      if (this.p.membership.info) return ok({ created: false });
      await insertRoom(this.p.env.DB, room, roster);
      this.p.ctx.storage.transactionSync(() => {
        this.p.membership.initialize(
          { kind: room.kind, title: room.title, createdBy: room.createdBy, createdAt: room.createdAt },
          roster,
        );
        // Everyone a new group starts with, but its creator, was added to it.
        if (room.kind !== "group") return;
        const creator = roster.find((m) => m.id === room.createdBy)?.name ?? room.createdBy ?? "someone";
        for (const m of roster) {
          if (m.id === room.createdBy) continue;
          this.p.events.record(
            room.id,
            { id: eventId(room.id, "member.added", m.id), type: "member.added", data: { roomId: room.id, userId: m.id, role: m.role, by: room.createdBy } },
            [{ userId: m.id, kind: "added", title: `You were added to ${room.title ?? "a group"}`, body: `${creator} added you` }],
          );
        }
      });
      if (room.kind === "group") this.p.flusher.schedule();
      return ok({ created: true });
    });
  }

  add(actor: Identity, target: Identity, role: Role): Promise<RoomResult<Member>> {
    return this.exclusive(async () => {
      const { kind } = this.p.membership.info!;
      if (!canAddMembers(kind, this.p.membership.roleOf(actor)!)) {
        return fail("forbidden", kind === "group" ? "only admins add members" : `members cannot be added to a ${kind} room`);
      }
      if (target.kind !== "member") return fail("bad_request", "visitors cannot join groups");
      if (this.p.membership.get(target.id)) return fail("conflict", `${target.id} is already a member`);
      const title = this.p.membership.info!.title ?? "a group";
      return ok(
        await this.write({ id: target.id, name: target.name, role }, (roomId) =>
          this.p.events.record(
            roomId,
            { id: eventId(roomId, "member.added", `${target.id}_${crypto.randomUUID()}`), type: "member.added", data: { roomId, userId: target.id, role, by: actor.id } },
            [{ userId: target.id, kind: "added", title: `You were added to ${title}`, body: `${actor.name} added you` }],
          ),
        ),
      );
    });
  }

  remove(actor: Identity, targetId: string, successorId?: string): Promise<RoomResult<null>> {
    return this.exclusive(async () => {
      const { kind } = this.p.membership.info!;
      const target = this.p.membership.get(targetId);
      if (!target) return fail("not_found", `${targetId} is not a member of this room`);
      const self = actor.id === targetId;
      if (!canRemove(kind, this.p.membership.roleOf(actor)!, target.role, self)) {
        return fail("forbidden", kind === "group" ? "you may not remove this member" : `members cannot leave a ${kind} room`);
      }
      if (target.role === "admin" && this.p.membership.adminCount() === 1) {
        const successor = successorId ? this.p.membership.get(successorId) : undefined;
        if (!successor || successor.id === targetId) {
          return fail("conflict", "the last admin must name another member as admin (?successor=) first");
        }
        await this.write({ ...successor, role: "admin" });
      }
      const roomId = this.roomId();
      await deleteMember(this.p.env.DB, roomId, targetId);
      this.p.ctx.storage.transactionSync(() => {
        this.p.membership.remove(targetId);
        this.p.events.record(roomId, {
          id: eventId(roomId, "member.removed", `${targetId}_${crypto.randomUUID()}`),
          type: "member.removed",
          data: { roomId, userId: targetId, by: actor.id },
        });
      });
      this.p.unread.watch(targetId, false);
      this.p.flusher.schedule();
      this.p.reads.forget(targetId);
      this.evict(targetId);
      return ok(null);
    });
  }

  /**
   * Erasure of a user: their membership goes from D1 and the room's copy, their sockets close,
   * whatever the rules for leaving say. A group whose last admin they were gets a new one (a
   * moderator if there is one, else the first member by id), so it is never left without one.
   */
  erase(userId: string): Promise<void> {
    return this.exclusive(async () => {
      const member = this.p.membership.get(userId);
      if (member?.role === "admin" && this.p.membership.adminCount() === 1) {
        const others = this.p.membership.list().filter((m) => m.id !== userId);
        const successor = others.find((m) => m.role === "moderator") ?? others.sort((a, b) => (a.id < b.id ? -1 : 1))[0];
        if (successor) await this.write({ ...successor, role: "admin" });
      }
      // The D1 row may exist without a local one (the community keeps rows only for raised roles).
      await deleteMember(this.p.env.DB, this.roomId(), userId);
      if (member) this.p.membership.remove(userId);
      this.p.reads.forget(userId);
      this.evict(userId);
    });
  }

  setRole(actor: Identity, target: Identity, role: Role): Promise<RoomResult<Member>> {
    return this.exclusive(async () => {
      const { kind } = this.p.membership.info!;
      if (!canChangeRoles(kind, this.p.membership.roleOf(actor)!)) return fail("forbidden", "only admins change roles");
      const current = this.p.membership.roleOf(target);
      if (current === null) return fail("not_found", `${target.id} is not a member of this room`);
      if (current === "admin" && role !== "admin" && this.p.membership.adminCount() === 1) {
        return fail("conflict", "the last admin cannot step down before naming another admin");
      }
      return ok(await this.write({ id: target.id, name: target.name, role }));
    });
  }

  /** Writes a member through to D1, then here, with the event of the change (if any) in the same transaction. */
  private async write(member: Member, event?: (roomId: string) => void): Promise<Member> {
    const roomId = this.roomId();
    await putMember(this.p.env.DB, roomId, member.id, member.role);
    this.p.ctx.storage.transactionSync(() => {
      this.p.membership.put(member);
      event?.(roomId);
    });
    if (event) this.p.flusher.schedule();
    return member;
  }

  private roomId(): string {
    return this.p.store.getMeta("roomId")!;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.p.ctx.blockConcurrencyWhile(fn);
  }
}
