/**
 * Who a new message notifies, decided in the room when the message leaves its outbox: a direct
 * message notifies the other person; a visitor's message notifies the staff, and staff's answer
 * the visitor; in groups and the community an @mention (by id or display name) notifies that
 * member and a reply notifies the author of what it answers. Never the author, never someone
 * looking at the room right now (an open socket there that is not away), one notification per
 * person (the strongest reason wins).
 */
import type { RoomKind } from "../db/schema";
import type { NotificationKind, UserRef } from "../protocol";
import type { Recipient } from "./events";

export interface MessageFacts {
  author: UserRef & { kind: "member" | "visitor" };
  text: string;
  hasFiles: boolean;
  replyToAuthorId: string | null;
}

export interface RoomFacts {
  kind: RoomKind;
  title: string | null;
  /**
   * Members with a row here (the community keeps rows only for raised roles), and users with a
   * socket here now (mentions in the community find them so). Functions: most messages in a
   * large room mention nobody, and need neither list.
   */
  members: () => ReadonlyArray<UserRef>;
  present: () => ReadonlyArray<UserRef>;
  /** The configured staff (visitor rooms). */
  staff: readonly string[];
  viewing: (userId: string) => boolean;
}

const MENTION = /(?:^|[^\p{L}\p{N}_-])@([\p{L}\p{N}_-]{1,64})/gu;
const EXCERPT = 140;
const RANK: Record<NotificationKind, number> = { dm: 0, visitor: 1, mention: 2, reply: 3, added: 4, broadcast: 5 };

/** The @words of a text: lower-cased, each to the word as written. */
export function mentionsIn(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of text.matchAll(MENTION)) found.set(m[1]!.toLowerCase(), m[1]!);
  return found;
}

export function excerpt(text: string, hasFiles: boolean): string {
  if (text === "") return hasFiles ? "sent an attachment" : "";
  const chars = [...text];
  return chars.length <= EXCERPT ? text : `${chars.slice(0, EXCERPT - 1).join("")}…`;
}

export function recipientsOf(message: MessageFacts, room: RoomFacts): Recipient[] {
  const chosen = new Map<string, NotificationKind>();
  const unverified = new Set<string>();
  const choose = (userId: string, kind: NotificationKind) => {
    if (userId === message.author.id || room.viewing(userId)) return;
    const current = chosen.get(userId);
    if (current === undefined || RANK[kind] < RANK[current]) chosen.set(userId, kind);
  };
  if (room.kind === "direct") {
    for (const m of room.members()) choose(m.id, "dm");
  } else if (room.kind === "visitor") {
    if (message.author.kind === "visitor") {
      for (const id of new Set([...room.staff, ...room.members().map((m) => m.id)])) if (id !== message.author.id) choose(id, "visitor");
    } else {
      // Staff answered: the visitor (the room's one visitor row) hears of it.
      for (const m of room.members()) if (!room.staff.includes(m.id)) choose(m.id, "dm");
    }
  } else {
    const words = mentionsIn(message.text);
    if (words.size > 0) {
      const known = room.kind === "community" ? [...room.members(), ...room.present()] : room.members();
      for (const m of known) {
        if (words.has(m.id.toLowerCase()) || words.has(m.name.toLowerCase()) || words.has(m.name.replace(/\s+/g, "").toLowerCase())) {
          choose(m.id, "mention");
        }
      }
      // In the community every member belongs, with or without a row: an @id is enough (the consumer drops ids nobody has).
      if (room.kind === "community") {
        for (const written of words.values()) {
          if (chosen.has(written)) continue;
          choose(written, "mention");
          unverified.add(written);
        }
      }
    }
    const replied = message.replyToAuthorId;
    if (replied !== null && (room.kind === "community" || room.members().some((m) => m.id === replied))) choose(replied, "reply");
  }

  const where = room.title ?? "a conversation";
  const who = message.author.name;
  const body = excerpt(message.text, message.hasFiles);
  return [...chosen].map(([userId, kind]) => ({
    userId,
    kind,
    title:
      kind === "dm"
        ? who
        : kind === "visitor"
          ? `${who} (website visitor)`
          : kind === "mention"
            ? `${who} mentioned you in ${where}`
            : `${who} replied to you in ${where}`,
    body,
    ...(unverified.has(userId) && chosen.get(userId) === "mention" ? { unverified: true as const } : {}),
  }));
}
