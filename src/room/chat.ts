/** Messages: sending, editing, deleting and read positions. Callers have checked membership. */
import type { Role } from "../db/schema";
import { checkText, type Identity, type Message, type SendInput } from "../protocol";
import { fail, ok, type RoomParts, type RoomResult } from "./parts";
import { canDeleteMessage, canEditMessage } from "./rules";

const EXCERPT_LENGTH = 140;
/** The same text from the same user within this window is refused as a duplicate. */
export const DUPLICATE_WINDOW_MS = 10_000;
/** How many recent texts per user the duplicate check remembers; older ones fall out. */
const RECENT_TEXTS = 50;

export class Chat {
  /** Each user's texts of the last 10 s and when they were sent. In memory: a room that sleeps forgets. */
  readonly recentTexts = new Map<string, Map<string, number>>();

  constructor(private readonly p: RoomParts) {}

  async post(roomId: string, user: Identity, input: SendInput): Promise<RoomResult<{ message: Message; created: boolean }>> {
    const text = checkText(input.text, this.p.config.maxTextLength);
    if (!text.ok) return fail("bad_request", text.message);

    const earlier = this.earlierSend(roomId, user.id, input.clientId);
    if (earlier) return ok({ message: await earlier, created: false });

    let replyTo: Message["replyTo"] = null;
    if (input.replyTo) {
      const target = await this.p.history.byId(roomId, input.replyTo);
      if (!target) return fail("bad_request", "replyTo: no such message in this room");
      replyTo = {
        id: target.id,
        author: target.author,
        excerpt: target.deletedAt ? "" : target.text.slice(0, EXCERPT_LENGTH),
      };
      // The lookup may have let a resend of the same clientId in first.
      const raced = this.earlierSend(roomId, user.id, input.clientId);
      if (raced) return ok({ message: await raced, created: false });
    }

    // From the check above to the append nothing awaits, so no resend can slip in between.
    if (this.isDuplicate(user.id, text.text)) return fail("duplicate", "you sent the same text a moment ago");

    const message = await this.p.writer.append(roomId, {
      clientId: input.clientId,
      author: { id: user.id, name: user.name },
      text: text.text,
      replyTo,
    });
    this.p.reads.wrote(user.id, message.seq);
    this.p.flusher.schedule();
    if (this.p.typing.stop(user.id)) {
      this.p.outbox.broadcast({ type: "typing", userId: user.id, name: user.name, on: false }, this.notFrom(user.id));
    }
    this.p.outbox.broadcast({ type: "message", message });
    return ok({ message, created: true });
  }

  async edit(roomId: string, user: Identity, id: string, rawText: string): Promise<RoomResult<Message>> {
    const text = checkText(rawText, this.p.config.maxTextLength);
    if (!text.ok) return fail("bad_request", text.message);
    const target = await this.p.history.byId(roomId, id);
    if (!target) return fail("not_found", "no such message in this room");
    if (!canEditMessage(target.author.id === user.id)) return fail("forbidden", "only the author may edit a message");
    if (target.deletedAt) return fail("conflict", "a deleted message cannot be edited");
    return this.change(roomId, target, { text: text.text, editedAt: new Date().toISOString() });
  }

  async delete(roomId: string, user: Identity, role: Role, id: string): Promise<RoomResult<Message>> {
    const target = await this.p.history.byId(roomId, id);
    if (!target) return fail("not_found", "no such message in this room");
    if (!canDeleteMessage(role, target.author.id === user.id)) {
      return fail("forbidden", "only the author, a moderator or an admin may delete a message");
    }
    if (target.deletedAt) return ok(target);
    return this.change(roomId, target, { text: "", deletedAt: new Date().toISOString() });
  }

  /** Moves the user's read position forward and tells the room. */
  read(roomId: string, user: Identity, seq: number): number {
    const upTo = Math.min(seq, this.p.store.lastSeq);
    if (upTo > 0 && this.p.reads.advance(user.id, upTo)) {
      this.p.flusher.schedule();
      this.p.outbox.broadcast({ type: "read", userId: user.id, seq: upTo });
    }
    return this.p.reads.get(user.id);
  }

  private async change(
    roomId: string,
    target: Message,
    change: { text: string; editedAt?: string; deletedAt?: string },
  ): Promise<RoomResult<Message>> {
    // Held messages change locally and reach D1 with the next flush; older ones change in D1.
    let updated = this.p.store.update(roomId, target.seq, change);
    if (updated) this.p.flusher.schedule();
    else updated = await this.p.archive.update(roomId, target.id, change);
    if (!updated) return fail("not_found", "no such message in this room");
    this.p.outbox.broadcast({ type: "updated", message: updated });
    return ok(updated);
  }

  /** Whether the user sent this text within the window; if not, remembers it now. */
  private isDuplicate(userId: string, text: string, now = Date.now()): boolean {
    let texts = this.recentTexts.get(userId);
    if (!texts) this.recentTexts.set(userId, (texts = new Map()));
    for (const [t, at] of texts) if (now - at >= DUPLICATE_WINDOW_MS) texts.delete(t);
    if (texts.has(text)) return true;
    texts.set(text, now);
    if (texts.size > RECENT_TEXTS) texts.delete(texts.keys().next().value!);
    return false;
  }

  /**
   * An earlier send with this clientId, still being written or stored. Found synchronously, so
   * the caller can act on "there is none" before any other send runs.
   */
  private earlierSend(roomId: string, userId: string, clientId: string): Promise<Message> | null {
    const pending = this.p.writer.pending(userId, clientId);
    if (pending) return pending;
    const seq = this.p.store.seqForClientId(userId, clientId);
    if (seq === null) return null;
    return this.p.history.range(roomId, seq, seq).then((found) => {
      // Rows leave the room only once they are in D1, so the message behind a known clientId exists.
      if (!found[0]) throw new Error(`message ${seq} behind clientId ${clientId} is missing`);
      return found[0];
    });
  }

  private notFrom(userId: string) {
    return (ws: WebSocket) => this.p.connections.get(ws)?.id === userId;
  }
}
