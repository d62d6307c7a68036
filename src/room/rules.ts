/**
 * Who may do what in a room, as pure functions of the room's kind and the roles involved.
 * The README's permission table is this file in prose; keep them in step.
 */
import type { Role, RoomKind } from "../db/schema";

export const canAddMembers = (kind: RoomKind, actor: Role) => kind === "group" && actor === "admin";

export const canChangeRoles = (kind: RoomKind, actor: Role) =>
  (kind === "group" || kind === "community") && actor === "admin";

/** Members may leave a group; admins remove anyone; moderators remove plain members. */
export function canRemove(kind: RoomKind, actor: Role, target: Role, self: boolean): boolean {
  if (kind !== "group") return false;
  if (self) return true;
  return actor === "admin" || (actor === "moderator" && target === "member");
}

export const canEditMessage = (isAuthor: boolean) => isAuthor;

export const canDeleteMessage = (actor: Role, isAuthor: boolean) => isAuthor || actor === "admin" || actor === "moderator";

/** Title and slow mode: admins of a group, and of the community (staff and raised admins). */
export const canChangeSettings = (kind: RoomKind, actor: Role) => (kind === "group" || kind === "community") && actor === "admin";
