/**
 * A user's erasure in one room (the Eraser job calls `run` until it says nothing is left): their
 * messages become tombstones, their files go, then their membership. Every call does a bounded
 * amount of work and can be repeated: what is done stays done, so a job that was cut off simply
 * calls again. docs/administration.md describes the whole erasure.
 *
 * - Messages the room holds are deleted through the room's own change path, as if their author
 *   deleted them: a new revision, `updated` to every socket, files dropped, flushed to D1.
 * - Messages only D1 has are tombstoned there by one statement per batch (a room may have
 *   thousands), each one revision newer than D1 had; `updated` goes out for them too. These run
 *   after the held ones, as an `Archive.bulk` write: an adoption that read such a row before the
 *   statement reads it again, so the room never takes in the text the statement removed. Rows the
 *   room holds may be tombstoned by both; both are tombstones, and the newer revision wins.
 * - The room's tombstones are flushed to D1 before the membership goes, so when the job says
 *   done, D1 (and with it search, quotes and room lists) has nothing of the messages left.
 */
import { dropAttachments } from "../attachments/store";
import { toMessage } from "../db/messages";
import type { Identity } from "../protocol";
import type { Chat } from "./chat";
import type { RoomParts } from "./parts";
import type { Roster } from "./roster";

/** Uploads removed per call. */
const FILE_BATCH = 100;
/** Flushes per call before giving up for now (each writes up to FLUSH_BATCH_ROWS rows). */
const MAX_FLUSHES = 20;

export interface ErasureProgress {
  /** Something is left: call again. */
  more: boolean;
  /** Messages made tombstones by this call. */
  messages: number;
  files: number;
}

export class RoomErasure {
  constructor(
    private readonly p: RoomParts,
    private readonly chat: Chat,
    private readonly roster: Roster,
  ) {}

  async run(roomId: string, userId: string, limit: number): Promise<ErasureProgress> {
    // 1. Held messages, through the change path: the author deleting their own message.
    const held = this.p.store.liveIdsBy(userId, limit);
    const author: Identity = { id: userId, name: userId, kind: "member" };
    for (const id of held) {
      const result = await this.chat.delete(roomId, author, "member", id);
      if (!result.ok && result.code !== "not_found") throw new Error(`room ${roomId}: erasing ${id}: ${result.message}`);
    }
    if (held.length >= limit) return { more: true, messages: held.length, files: 0 };

    // 2. Messages only D1 has (below the run the room holds), a batch per statement.
    const deletedAt = new Date().toISOString();
    const tombstones = await this.p.archive.bulk(() =>
      this.p.archive.tombstoneAuthor(roomId, userId, this.p.store.firstLocalSeq, limit, deletedAt),
    );
    const unheld = tombstones.filter((r) => this.p.store.byId(r.id) === null);
    for (const message of this.p.receipts.decorate(unheld.map((r) => toMessage(roomId, r)))) {
      this.p.outbox.broadcast({ type: "updated", message });
    }
    const messages = held.length + tombstones.length;
    if (tombstones.length >= limit) return { more: true, messages, files: 0 };

    // 3. Every file they uploaded here: their messages' and uploads never sent.
    const { results: files } = await this.p.env.DB.prepare("SELECT id FROM attachments WHERE room_id = ? AND owner_id = ? LIMIT ?")
      .bind(roomId, userId, FILE_BATCH)
      .all<{ id: string }>();
    if (files.length > 0) await dropAttachments(this.p.env, files.map((f) => f.id));
    if (files.length >= FILE_BATCH) return { more: true, messages, files: files.length };

    // 4. The room's tombstones into D1 now, not at the next alarm.
    for (let i = 0; this.p.store.hasDirty(); i++) {
      if (i >= MAX_FLUSHES) return { more: true, messages, files: files.length };
      await this.p.flusher.flushOnce(roomId);
    }

    // 5. The membership, in D1 and here; their sockets close.
    await this.roster.erase(userId);
    this.p.outbox.flush();
    return { more: false, messages, files: files.length };
  }
}
