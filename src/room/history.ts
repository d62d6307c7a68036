/**
 * Reads over the room's messages. Seqs are contiguous, so any page is an exact seq range:
 * the part the room still holds comes from its own storage, anything older from D1 (rows
 * leave local storage only after they are in D1, so the two together are complete).
 */
import type { Message } from "../protocol";
import type { Archive } from "./archive";
import type { MessageStore } from "./store";

export class History {
  constructor(
    private readonly store: MessageStore,
    private readonly archive: Archive,
  ) {}

  async range(roomId: string, lo: number, hi: number): Promise<Message[]> {
    lo = Math.max(1, lo);
    hi = Math.min(hi, this.store.lastSeq);
    if (hi < lo) return [];
    const firstLocal = this.store.firstLocalSeq;
    const older = lo < firstLocal ? await this.archive.range(roomId, lo, Math.min(hi, firstLocal - 1)) : [];
    return older.concat(this.store.range(roomId, Math.max(lo, firstLocal), hi));
  }

  /** The page of up to `limit` messages before `before` (the newest page without it). */
  async page(roomId: string, limit: number, before?: number) {
    const upper = Math.min(before ?? Infinity, this.store.lastSeq + 1);
    const lo = Math.max(1, upper - limit);
    const messages = await this.range(roomId, lo, upper - 1);
    return { messages, nextBefore: lo > 1 ? lo : null };
  }

  /** Everything after `after`, in pages of `pageSize`. */
  async after(roomId: string, after: number, pageSize: number) {
    const hi = Math.min(after + pageSize, this.store.lastSeq);
    const messages = await this.range(roomId, after + 1, hi);
    return { messages, more: hi < this.store.lastSeq };
  }

  async byId(roomId: string, id: string): Promise<Message | null> {
    return this.store.byId(roomId, id) ?? (await this.archive.byId(roomId, id));
  }
}
