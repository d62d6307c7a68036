/**
 * Messages: sending, editing, deleting, reactions and read positions. Callers have checked
 * membership. Every change to a message goes through `change`: the room's copy is changed in
 * one synchronous step (so concurrent changes never lose each other), gets a new revision, and
 * reaches D1 with the next flush.
 */
import type { Role } from "../db/schema";
import { quoteOfRow, toMessage } from "../db/messages";
import { checkText, type AttachmentRef, type Identity, type Message, type SendInput } from "../protocol";
import { fail, ok, type RoomParts, type RoomResult } from "./parts";
import type { LimitResult } from "../limits";
import { retryAfterS } from "../limits/sliding";
import { normaliseText } from "./guards";
import { react } from "./reactions";
import { canDeleteMessage, canEditMessage } from "./rules";
import type { MessageChange } from "./store";
import { eventId } from "./events";
import { eventMessage } from "../notify/events";

type Decide = (current: Message) => RoomResult<MessageChange | null>;

export class Chat {
  constructor(private readonly p: RoomParts) {}

  async post(
    roomId: string,
    user: Identity,
    role: Role,
    input: SendInput,
  ): Promise<RoomResult<{ message: Message; created: boolean; limit?: LimitResult }>> {
    const withFiles = (input.attachments?.length ?? 0) > 0;
    // A message may be files alone; otherwise it needs text.
    const text = withFiles && input.text.trim() === "" ? ({ ok: true, text: "" } as const) : checkText(input.text, this.p.config.maxTextLength);
    if (!text.ok) return fail("bad_request", text.message);

    // A resend of an acked (or in-flight) clientId is answered again and counts against nothing.
    const earlier = this.earlierSend(roomId, user.id, input.clientId);
    if (earlier) return ok({ message: await earlier, created: false });

    const normalised = text.text === "" ? null : normaliseText(text.text);
    // Refusals the room can tell at once come first, so they do not spend the user's budget.
    const guarded = this.p.guards.check(user.id, role, normalised, Date.now(), input.clientId);
    if (!guarded.ok) return guarded;
    const limit = (await this.p.limits.hit("sends", user.id)) ?? undefined;
    if (limit && !limit.allowed) {
      const retryAfter = retryAfterS(limit);
      return fail("rate_limited", `too many messages; try again in ${retryAfter} s`, { retryAfter, limit });
    }

    let replyTo: Message["replyTo"] = null;
    if (input.replyTo) {
      const target = await this.p.history.rowById(roomId, input.replyTo);
      if (!target) return fail("bad_request", "replyTo: no such message in this room");
      replyTo = quoteOfRow(target.id, target);
    }
    let attachments: AttachmentRef[] = [];
    if (withFiles) {
      const claimed = await this.p.files.claim(roomId, user.id, input.clientId, input.attachments!);
      if (!claimed.ok) return claimed;
      attachments = claimed.value;
    }
    // The awaits above may have let a resend of the same clientId in first.
    const raced = this.earlierSend(roomId, user.id, input.clientId);
    if (raced) return ok({ message: await raced, created: false });

    // From this check to the append nothing awaits, so no other send can slip in between.
    const admitted = this.p.guards.admit(user.id, role, normalised, Date.now(), input.clientId);
    if (!admitted.ok) return admitted;

    const message = await this.p.writer.append(roomId, {
      clientId: input.clientId,
      author: { id: user.id, name: user.name },
      text: text.text,
      replyTo,
      attachments,
    });
    this.p.reads.wrote(user.id, message.seq);
    this.p.flusher.schedule();
    if (this.p.typing.stop(user.id)) {
      this.p.outbox.broadcast({ type: "typing", userId: user.id, name: user.name, on: false }, user.id);
    }
    // Nobody else can have read a message written just now; counting would re-sort every
    // member's position on every send.
    message.readBy = 0;
    const peer = this.p.receipts.peerOf(user.id);
    if (peer !== null) {
      // Delivered when the other person has a socket (here or on a shard) to receive the broadcast below.
      if (this.p.connections.statusOf(peer) !== "offline") this.p.reads.deliver(peer, message.seq);
      message.status = this.p.receipts.status(message.seq, peer);
    }
    this.p.outbox.broadcast({ type: "message", message });
    this.p.unread.messaged(roomId, user.id);
    this.p.topics.noted(roomId, message.text);
    this.p.stats.messaged(message.createdAt);
    return ok({ message, created: true, limit });
  }

  edit(roomId: string, user: Identity, id: string, rawText: string): Promise<RoomResult<Message>> {
    const text = checkText(rawText, this.p.config.maxTextLength);
    if (!text.ok) return Promise.resolve(fail("bad_request", text.message));
    const windowMs = this.p.config.editWindowMs;
    return this.change(roomId, id, (m) => {
      if (!canEditMessage(m.author.id === user.id)) return fail("forbidden", "only the author may edit a message");
      if (m.deletedAt) return fail("conflict", "a deleted message cannot be edited");
      if (windowMs > 0 && Date.now() - Date.parse(m.createdAt) > windowMs) {
        return fail("forbidden", `messages can be edited for ${Math.round(windowMs / 60_000)} minutes after sending`);
      }
      if (m.text === text.text) return ok(null);
      return ok({ text: text.text, editedAt: new Date().toISOString() });
    });
  }

  /** Soft delete: the text, quote, reactions and files go; the seq stays. */
  async delete(roomId: string, user: Identity, role: Role, id: string): Promise<RoomResult<Message>> {
    let files: AttachmentRef[] = [];
    const result = await this.change(roomId, id, (m) => {
      if (!canDeleteMessage(role, m.author.id === user.id)) {
        return fail("forbidden", "only the author, a moderator or an admin may delete a message");
      }
      if (m.deletedAt) return ok(null);
      files = m.attachments;
      return ok({ text: "", deletedAt: new Date().toISOString(), reactions: {}, attachments: [], clearReply: true });
    });
    // The message no longer names them; the bytes go too (after the change is durable).
    if (result.ok && files.length > 0) this.p.ctx.waitUntil(this.p.files.drop(files.map((f) => f.id)));
    return result;
  }

  react(roomId: string, user: Identity, id: string, emoji: string, on: boolean): Promise<RoomResult<Message>> {
    return this.change(roomId, id, (m) => {
      if (m.deletedAt) return fail("conflict", "a deleted message cannot be reacted to");
      const next = react(m.reactions, user.id, emoji, on);
      if (!next.ok) return fail(next.code, next.message);
      return ok(next.changed ? { reactions: next.reactions } : null);
    });
  }

  /**
   * Moves the user's read position forward and tells the room once D1 has it too, so the
   * room list's unread count follows at once. Reads arriving meanwhile share the next D1 write.
   */
  async read(roomId: string, user: Identity, seq: number): Promise<number> {
    const upTo = Math.min(seq, this.p.store.lastSeq);
    if (upTo > 0 && this.p.reads.advance(user.id, upTo)) {
      await this.p.flusher.pushReads(roomId);
      this.p.outbox.broadcast({ type: "read", userId: user.id, seq: upTo });
      this.p.unread.read(roomId, user.id);
    }
    return this.p.reads.get(user.id);
  }

  /**
   * Applies a change decided on the message's current state. A message the room no longer
   * holds is first adopted from D1; from reading the held row to writing it nothing awaits.
   */
  private async change(roomId: string, id: string, decide: Decide): Promise<RoomResult<Message>> {
    let row = this.p.store.byId(id);
    if (row === null) {
      const archived = await this.p.archive.byIdSettled(roomId, id);
      // Below firstSeq, retention is removing the row from D1: it is not to be taken in again.
      if (!archived || archived.seq < this.p.store.firstSeq) return fail("not_found", "no such message in this room");
      this.p.store.adopt(archived, archived.rev);
      // Read again: a change that ran during the await may have adopted and changed it first.
      row = this.p.store.byId(id)!;
    }
    const decision = decide(toMessage(roomId, row));
    if (!decision.ok) return decision;
    if (decision.value !== null) {
      const change = decision.value;
      const seq = row.seq;
      // The change and its event commit together (src/room/events.ts).
      const before = toMessage(roomId, row);
      this.p.ctx.storage.transactionSync(() => {
        this.p.events.beforeChange(roomId, before, change.deletedAt !== undefined);
        this.p.store.update(seq, change);
        const changed = toMessage(roomId, this.p.store.byId(id)!);
        const type = change.deletedAt ? "message.deleted" : "message.updated";
        this.p.events.record(roomId, { id: eventId(roomId, type, `${seq}_${crypto.randomUUID()}`), type, data: eventMessage(changed) });
      });
      this.p.flusher.schedule();
    }
    const message = await this.p.history.byId(roomId, id);
    if (!message) return fail("not_found", "no such message in this room");
    if (decision.value !== null) this.p.outbox.broadcast({ type: "updated", message });
    return ok(message);
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
}
