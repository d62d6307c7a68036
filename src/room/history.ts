/**
 * Reads over the room's messages. Seqs are contiguous, so any page is an exact seq range:
 * the part the room still holds comes from its own storage, anything older from D1 (rows
 * leave local storage only after they are in D1, so the two together are complete). Rows the
 * room adopted from D1 to change them are newer than D1's copy until flushed, so they win.
 * Every message leaves here with its quote read from the quoted row as it is now, and with
 * its receipts.
 */
import { quoteOfRow, quoteSource, toMessage } from "../db/messages";
import type { Message } from "../protocol";
import type { Archive } from "./archive";
import type { Receipts } from "./receipts";
import type { MessageStore, QuotedRow, Row } from "./store";

export class History {
  constructor(
    private readonly store: MessageStore,
    private readonly archive: Archive,
    private readonly receipts: Receipts,
  ) {}

  async range(roomId: string, lo: number, hi: number): Promise<Message[]> {
    // Below firstSeq retention removed everything: history starts there.
    lo = Math.max(this.store.firstSeq, lo);
    hi = Math.min(hi, this.store.lastSeq);
    if (hi < lo) return [];
    const firstLocal = this.store.firstLocalSeq;
    // Read what the room holds before awaiting D1: a prune meanwhile only drops flushed rows.
    const held = this.store.range(Math.max(lo, firstLocal), hi);
    if (lo >= firstLocal) return this.finish(roomId, held);
    const upper = Math.min(hi, firstLocal - 1);
    const adopted = this.store.adoptedIn(lo, upper);
    const older: QuotedRow[] = await this.archive.range(roomId, lo, upper);
    const newer = new Map(adopted.map((r) => [r.seq, r]));
    return this.finish(roomId, older.map((r) => newer.get(r.seq) ?? { ...r, fromD1: true }).concat(held));
  }

  /** The page of up to `limit` messages before `before` (the newest page without it). */
  async page(roomId: string, limit: number, before?: number) {
    const first = this.store.firstSeq;
    const upper = Math.min(before ?? Infinity, this.store.lastSeq + 1);
    const lo = Math.max(first, upper - limit);
    const messages = await this.range(roomId, lo, upper - 1);
    return { messages, nextBefore: lo > first ? lo : null };
  }

  /** Everything after `after`, in pages of `pageSize` (from the first that still exists). */
  async after(roomId: string, after: number, pageSize: number) {
    const from = Math.max(after, this.store.firstSeq - 1);
    const hi = Math.min(from + pageSize, this.store.lastSeq);
    const messages = await this.range(roomId, from + 1, hi);
    return { messages, more: hi < this.store.lastSeq };
  }

  async byId(roomId: string, id: string): Promise<Message | null> {
    const row = await this.rowById(roomId, id);
    return row ? (await this.finish(roomId, [row]))[0]! : null;
  }

  /** The row of a message, held or from D1 (none for what retention removed). */
  async rowById(roomId: string, id: string): Promise<QuotedRow | null> {
    const row = this.store.byId(id) ?? (await this.archive.byId(roomId, id));
    return row !== null && row.seq >= this.store.firstSeq ? row : null;
  }

  /**
   * Messages from rows. A quote comes from the quoted row the room holds, else from D1: the
   * join D1 already did for rows read there, one lookup for held rows quoting older ones.
   */
  private async finish(roomId: string, rows: (QuotedRow & { fromD1?: boolean })[]): Promise<Message[]> {
    // Rows read from D1 came with D1's quoted row, but the room may hold a newer copy of it;
    // held rows came with the room's, and quote from D1 only what the room does not hold.
    const heldNewer = new Set<string>();
    const onlyInD1 = new Set<string>();
    for (const r of rows) {
      if (r.reply_to_id === null) continue;
      if (r.fromD1) heldNewer.add(r.reply_to_id);
      else if (r.q_author_id === null) onlyInD1.add(r.reply_to_id);
    }
    const sources = new Map<string, Row>();
    if (heldNewer.size > 0) for (const r of this.store.byIds([...heldNewer])) sources.set(r.id, r);
    if (onlyInD1.size > 0) for (const r of await this.archive.byIds(roomId, [...onlyInD1])) sources.set(r.id, r);
    return this.receipts.decorate(
      rows.map((r) => {
        if (r.reply_to_id === null) return toMessage(roomId, r);
        return toMessage(roomId, r, quoteOfRow(r.reply_to_id, sources.get(r.reply_to_id) ?? quoteSource(r)));
      }),
    );
  }
}
