/**
 * The room's own SQLite: every message is written here first (the write the ack waits for),
 * then copied to D1 by the flusher. Rows carry a revision so a flush marks exactly the
 * version it wrote; recent rows stay after flushing so common reads never touch D1.
 */
import { STORED_COLUMNS, storedValues, toMessage, type QuoteColumns, type StoredMessage } from "../db/messages";
import type { AttachmentRef, Message, ReplyRef, UserRef } from "../protocol";

/**
 * How long a (author, clientId) pair is remembered for idempotent resends. A held message
 * answers for its own clientId; when the prune drops it, the pair moves to `client_ids`.
 */
export const CLIENT_ID_TTL_MS = 24 * 60 * 60 * 1000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  client_id TEXT,
  author_id TEXT NOT NULL,
  author_name TEXT NOT NULL,
  text TEXT NOT NULL,
  reply_to_id TEXT,
  created_at TEXT NOT NULL,
  edited_at TEXT,
  deleted_at TEXT,
  reactions TEXT,
  attachments TEXT,
  adopted INTEGER NOT NULL DEFAULT 0,
  rev INTEGER NOT NULL DEFAULT 1,
  flushed_rev INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_dirty ON messages (seq) WHERE rev > flushed_rev;
CREATE INDEX IF NOT EXISTS messages_client_id ON messages (author_id, client_id) WHERE client_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS client_ids (
  author_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (author_id, client_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS client_ids_age ON client_ids (created_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

/**
 * Rooms created before quotes were read from the quoted row kept a copy of the quoted text in
 * `reply_to`; keep only its id, and drop the copy (a deleted message's text must not survive).
 */
const MIGRATE_V2 = `
ALTER TABLE messages ADD COLUMN reply_to_id TEXT;
UPDATE messages SET reply_to_id = reply_to ->> '$.id' WHERE reply_to IS NOT NULL;
ALTER TABLE messages DROP COLUMN reply_to;
ALTER TABLE messages ADD COLUMN reactions TEXT;
ALTER TABLE messages ADD COLUMN attachments TEXT;
ALTER TABLE messages ADD COLUMN adopted INTEGER NOT NULL DEFAULT 0;
`;
const STORE_VERSION = "2";

/** A row as stored: the columns D1 has too, plus (not read here) the flush's bookkeeping. */
export type Row = StoredMessage;

export type DirtyRow = Row & { rev: number };

export interface NewMessage {
  clientId: string | null;
  author: UserRef;
  text: string;
  /** The message replied to, as it is now (its quote goes out with the new message). */
  replyTo: ReplyRef | null;
  attachments?: AttachmentRef[];
}

/** What an edit, delete or reaction sets on a message. */
export interface MessageChange {
  text?: string;
  editedAt?: string;
  deletedAt?: string;
  reactions?: Record<string, string[]>;
  attachments?: AttachmentRef[];
  /** A delete also drops what the message quoted. */
  clearReply?: boolean;
}

/** The same columns qualified, with the quoted row's, for reads that fill in quotes. */
const QUOTED = `${STORED_COLUMNS.split(", ")
  .map((c) => `m.${c}`)
  .join(", ")}, q.author_id AS q_author_id, q.author_name AS q_author_name, q.text AS q_text, q.deleted_at AS q_deleted_at`;

export type QuotedRow = Row & QuoteColumns;

export class MessageStore {
  private lastSeqCache: number;
  private firstSeqCache: number;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly sql = storage.sql,
  ) {
    const existed = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'").toArray().length > 0;
    sql.exec(SCHEMA);
    if (!existed) this.setMeta("storeVersion", STORE_VERSION);
    else if (this.getMeta("storeVersion") !== STORE_VERSION) {
      storage.transactionSync(() => {
        sql.exec(MIGRATE_V2);
        this.setMeta("storeVersion", STORE_VERSION);
      });
    }
    // `lastSeq` in meta is written by the prune, for a room whose newest rows it dropped.
    const newest = sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM messages").one().seq ?? 0;
    this.lastSeqCache = Math.max(newest, Number(this.getMeta("lastSeq") ?? 0));
    this.firstSeqCache = Number(this.getMeta("firstSeq") ?? 1);
  }

  get lastSeq(): number {
    return this.lastSeqCache;
  }

  /** The lowest seq that may still exist: retention removed everything below it (1 until then). */
  get firstSeq(): number {
    return this.firstSeqCache;
  }

  /**
   * Retention removes every message up to `seq` (src/admin/retention.ts): the room forgets them
   * too, held or adopted, flushed or not, with their clientIds, and its history starts after them.
   */
  expireThrough(seq: number): void {
    const through = Math.min(seq, this.lastSeqCache);
    if (through < this.firstSeqCache) return;
    this.storage.transactionSync(() => {
      // As the prune does: a room that drops its newest rows must still know its last seq.
      this.setMeta("lastSeq", String(this.lastSeqCache));
      this.setMeta("firstSeq", String(through + 1));
      this.sql.exec("DELETE FROM messages WHERE seq <= ?", through);
      this.sql.exec("DELETE FROM client_ids WHERE seq <= ?", through);
    });
    this.firstSeqCache = through + 1;
  }

  getMeta(key: string): string | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }

  /** The seq an earlier send with this clientId got, if it is still remembered. */
  seqForClientId(authorId: string, clientId: string): number | null {
    const row = this.sql
      .exec<{ seq: number }>(
        `SELECT seq FROM messages WHERE author_id = ?1 AND client_id = ?2
         UNION ALL SELECT seq FROM client_ids WHERE author_id = ?1 AND client_id = ?2 LIMIT 1`,
        authorId,
        clientId,
      )
      .toArray()[0];
    return row?.seq ?? null;
  }

  /**
   * Assigns the next seqs and writes the messages. A message is one statement (the clientId is
   * a column; `lastSeq` follows from the rows), so a single send is one write; several are
   * written in one transaction, all or none.
   */
  insertAll(roomId: string, inputs: NewMessage[], now = new Date()): Message[] {
    const createdAt = now.toISOString();
    const write = () =>
      inputs.map((input, i) => {
        const attachments = input.attachments?.length ? JSON.stringify(input.attachments) : null;
        const row: Row = {
          seq: this.lastSeqCache + 1 + i,
          id: crypto.randomUUID(),
          client_id: input.clientId,
          author_id: input.author.id,
          author_name: input.author.name,
          text: input.text,
          reply_to_id: input.replyTo?.id ?? null,
          created_at: createdAt,
          edited_at: null,
          deleted_at: null,
          reactions: null,
          attachments,
        };
        this.sql.exec(`INSERT INTO messages (${STORED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ...storedValues(row));
        return toMessage(roomId, row, input.replyTo);
      });
    const messages = inputs.length === 1 ? write() : this.storage.transactionSync(write);
    this.lastSeqCache += messages.length;
    return messages;
  }

  insert(roomId: string, input: NewMessage, now = new Date()): Message {
    return this.insertAll(roomId, [input], now)[0]!;
  }

  /**
   * The lowest seq of the contiguous run the room holds (lastSeq + 1 when it holds none).
   * Older rows it holds were adopted from D1 to be changed, and stand alone.
   */
  get firstLocalSeq(): number {
    const row = this.sql.exec<{ seq: number | null }>("SELECT min(seq) AS seq FROM messages WHERE adopted = 0").one();
    return row.seq ?? this.lastSeqCache + 1;
  }

  /** Rows with lo <= seq <= hi held locally, ascending, with their quoted rows where held too. */
  range(lo: number, hi: number): QuotedRow[] {
    return this.sql
      .exec<QuotedRow>(
        `SELECT ${QUOTED} FROM messages m LEFT JOIN messages q ON q.id = m.reply_to_id
         WHERE m.seq BETWEEN ? AND ? ORDER BY m.seq`,
        lo,
        hi,
      )
      .toArray();
  }

  /** Adopted rows (changed copies of rows D1 holds) with lo <= seq <= hi. */
  adoptedIn(lo: number, hi: number): QuotedRow[] {
    return this.sql
      .exec<QuotedRow>(
        `SELECT ${QUOTED} FROM messages m LEFT JOIN messages q ON q.id = m.reply_to_id
         WHERE m.adopted = 1 AND m.seq BETWEEN ? AND ? ORDER BY m.seq`,
        lo,
        hi,
      )
      .toArray();
  }

  byId(id: string): QuotedRow | null {
    return (
      this.sql
        .exec<QuotedRow>(`SELECT ${QUOTED} FROM messages m LEFT JOIN messages q ON q.id = m.reply_to_id WHERE m.id = ?`, id)
        .toArray()[0] ?? null
    );
  }

  /** Ids of held messages by this author that are not deleted, oldest first (erasure). */
  liveIdsBy(authorId: string, limit: number): string[] {
    return this.sql
      .exec<{ id: string }>("SELECT id FROM messages WHERE author_id = ? AND deleted_at IS NULL ORDER BY seq LIMIT ?", authorId, limit)
      .toArray()
      .map((r) => r.id);
  }

  /** Held rows among these ids (quote sources for messages read from D1). */
  byIds(ids: string[]): Row[] {
    if (ids.length === 0) return [];
    return this.sql
      .exec<Row>(`SELECT ${STORED_COLUMNS} FROM messages WHERE id IN (SELECT value FROM json_each(?))`, JSON.stringify(ids))
      .toArray();
  }

  /**
   * Takes in a row the room no longer holds, so a change to it goes through the same revisions
   * and flush as any other. It starts at D1's revision, as flushed.
   */
  adopt(row: Row, rev: number): void {
    this.sql.exec(
      `INSERT OR IGNORE INTO messages (${STORED_COLUMNS}, adopted, rev, flushed_rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
      ...storedValues(row),
      rev,
      rev,
    );
  }

  /** Changes a held message (edit, delete, reaction); the new revision is flushed like a new row. */
  update(seq: number, change: MessageChange): void {
    this.sql.exec(
      `UPDATE messages SET text = coalesce(?1, text), edited_at = coalesce(?2, edited_at), deleted_at = coalesce(?3, deleted_at),
         reactions = CASE WHEN ?4 IS NULL THEN reactions WHEN ?4 = '{}' THEN NULL ELSE ?4 END,
         attachments = CASE WHEN ?5 IS NULL THEN attachments WHEN ?5 = '[]' THEN NULL ELSE ?5 END,
         reply_to_id = CASE WHEN ?6 THEN NULL ELSE reply_to_id END,
         rev = rev + 1
       WHERE seq = ?7`,
      change.text ?? null,
      change.editedAt ?? null,
      change.deletedAt ?? null,
      change.reactions ? JSON.stringify(change.reactions) : null,
      change.attachments ? JSON.stringify(change.attachments) : null,
      change.clearReply ? 1 : 0,
      seq,
    );
  }

  /** Rows whose current revision is not in D1 yet, oldest first. */
  dirty(limit: number): DirtyRow[] {
    return this.sql
      .exec<DirtyRow>(`SELECT ${STORED_COLUMNS}, rev FROM messages WHERE rev > flushed_rev ORDER BY seq LIMIT ?`, limit)
      .toArray();
  }

  hasDirty(): boolean {
    return this.sql.exec("SELECT 1 FROM messages WHERE rev > flushed_rev LIMIT 1").toArray().length > 0;
  }

  /** Records that D1 holds these revisions; a row changed since keeps its newer revision dirty. */
  markFlushed(rows: Pick<DirtyRow, "seq" | "rev">[]): void {
    if (rows.length === 0) return;
    // One statement for the whole batch: [[seq, rev], ...] as a JSON parameter.
    this.sql.exec(
      `UPDATE messages SET flushed_rev = j.value ->> 1
       FROM json_each(?) AS j WHERE messages.seq = j.value ->> 0 AND messages.flushed_rev < j.value ->> 1`,
      JSON.stringify(rows.map((r) => [r.seq, r.rev])),
    );
  }

  /**
   * Drops flushed rows beyond the newest `keep` (their clientIds move to `client_ids` while
   * still inside their lifetime) and clientIds past it. Adopted rows go once flushed. Rows
   * above `keepAbove` stay whatever their age (the event outbox has not handed them over yet).
   */
  prune(keep: number, now = Date.now(), keepAbove = Number.POSITIVE_INFINITY): void {
    const upTo = Math.min(this.lastSeqCache - keep, keepAbove);
    this.storage.transactionSync(() => {
      this.setMeta("lastSeq", String(this.lastSeqCache));
      this.sql.exec(
        `INSERT OR IGNORE INTO client_ids (author_id, client_id, seq, created_at)
         SELECT author_id, client_id, seq, CAST(round((julianday(created_at) - 2440587.5) * 86400000) AS INTEGER)
         FROM messages WHERE seq <= ? AND rev = flushed_rev AND client_id IS NOT NULL AND created_at >= ? AND adopted = 0`,
        upTo,
        new Date(now - CLIENT_ID_TTL_MS).toISOString(),
      );
      this.sql.exec("DELETE FROM messages WHERE (seq <= ? OR adopted = 1) AND rev = flushed_rev", upTo);
      this.sql.exec("DELETE FROM client_ids WHERE created_at < ?", now - CLIENT_ID_TTL_MS);
    });
  }
}
