/**
 * The room's view of D1: writing flushed batches and reading what the room no longer holds
 * locally. Writes are upserts by message id, so running the same flush twice is harmless.
 */
import { and, between, asc, eq, sql } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import type { BatchItem } from "drizzle-orm/batch";
import { progressStatements } from "../db/rooms";
import { messages, type MessageRow } from "../db/schema";
import type { Message } from "../protocol";
import { toMessage, type DirtyRow } from "./store";

/** D1 binds at most 100 parameters per statement. */
const D1_MAX_PARAMS = 100;
const COLUMNS_PER_ROW = 11;
export const ROWS_PER_STATEMENT = Math.floor(D1_MAX_PARAMS / COLUMNS_PER_ROW);

export class Archive {
  private readonly db: DrizzleD1Database;

  constructor(private readonly d1: D1Database) {
    this.db = drizzle(d1);
  }

  /**
   * Writes the rows, the room's newest message and members' read positions in one D1 batch
   * (one transaction): all of it or none.
   */
  async write(roomId: string, rows: DirtyRow[], reads: { userId: string; seq: number }[]): Promise<void> {
    const newest = rows.reduce<DirtyRow | null>((a, r) => (a === null || r.seq > a.seq ? r : a), null);
    const progress = progressStatements(this.d1, roomId, newest ? toMessage(roomId, newest) : null, reads);
    const values = rows.map((r) => ({
      id: r.id,
      roomId,
      seq: r.seq,
      clientId: r.client_id,
      authorId: r.author_id,
      authorName: r.author_name,
      text: r.text,
      replyTo: r.reply_to ? JSON.parse(r.reply_to) : null,
      createdAt: r.created_at,
      editedAt: r.edited_at,
      deletedAt: r.deleted_at,
    }));
    const statements: BatchItem<"sqlite">[] = [...progress];
    for (let i = 0; i < values.length; i += ROWS_PER_STATEMENT) {
      statements.push(
        this.db
          .insert(messages)
          .values(values.slice(i, i + ROWS_PER_STATEMENT))
          .onConflictDoUpdate({
            target: messages.id,
            set: {
              text: sql`excluded.text`,
              editedAt: sql`excluded.edited_at`,
              deletedAt: sql`excluded.deleted_at`,
            },
          }),
      );
    }
    const [first, ...rest] = statements;
    if (first) await this.db.batch([first, ...rest]);
  }

  /** Messages with lo <= seq <= hi from D1, ascending. */
  async range(roomId: string, lo: number, hi: number): Promise<Message[]> {
    if (hi < lo) return [];
    const rows = await this.db
      .select()
      .from(messages)
      .where(and(eq(messages.roomId, roomId), between(messages.seq, lo, hi)))
      .orderBy(asc(messages.seq));
    return rows.map(fromRow);
  }

  /** Changes a message the room no longer holds, directly in D1. */
  async update(roomId: string, id: string, change: { text: string; editedAt?: string; deletedAt?: string }) {
    const rows = await this.db
      .update(messages)
      .set({ text: change.text, ...(change.editedAt ? { editedAt: change.editedAt } : {}), ...(change.deletedAt ? { deletedAt: change.deletedAt } : {}) })
      .where(and(eq(messages.roomId, roomId), eq(messages.id, id)))
      .returning();
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async byId(roomId: string, id: string): Promise<Message | null> {
    const rows = await this.db
      .select()
      .from(messages)
      .where(and(eq(messages.roomId, roomId), eq(messages.id, id)))
      .limit(1);
    return rows[0] ? fromRow(rows[0]) : null;
  }
}

function fromRow(r: MessageRow): Message {
  return toMessage(r.roomId, {
    seq: r.seq,
    id: r.id,
    client_id: r.clientId,
    author_id: r.authorId,
    author_name: r.authorName,
    text: r.text,
    reply_to: r.replyTo ? JSON.stringify(r.replyTo) : null,
    created_at: r.createdAt,
    edited_at: r.editedAt,
    deleted_at: r.deletedAt,
  });
}
