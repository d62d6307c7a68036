/**
 * The room's own SQLite: every message is written here first (the write the ack waits for),
 * then copied to D1 by the flusher. Rows carry a revision so a flush marks exactly the
 * version it wrote; recent rows stay after flushing so common reads never touch D1.
 */
import type { Message, ReplyRef, UserRef } from "../protocol";

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
  reply_to TEXT,
  created_at TEXT NOT NULL,
  edited_at TEXT,
  deleted_at TEXT,
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

type Row = {
  seq: number;
  id: string;
  client_id: string | null;
  author_id: string;
  author_name: string;
  text: string;
  reply_to: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
};

export type DirtyRow = Row & { rev: number };

export interface NewMessage {
  clientId: string | null;
  author: UserRef;
  text: string;
  replyTo: ReplyRef | null;
}

export function toMessage(roomId: string, r: Row): Message {
  return {
    id: r.id,
    roomId,
    seq: r.seq,
    clientId: r.client_id,
    author: { id: r.author_id, name: r.author_name },
    text: r.text,
    createdAt: r.created_at,
    editedAt: r.edited_at,
    deletedAt: r.deleted_at,
    replyTo: r.reply_to ? (JSON.parse(r.reply_to) as ReplyRef) : null,
    attachments: [],
    reactions: {},
  };
}

const COLUMNS = "seq, id, client_id, author_id, author_name, text, reply_to, created_at, edited_at, deleted_at";

export class MessageStore {
  private lastSeqCache: number;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly sql = storage.sql,
  ) {
    sql.exec(SCHEMA);
    // `lastSeq` in meta is written by the prune, for a room whose newest rows it dropped.
    const newest = sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM messages").one().seq ?? 0;
    this.lastSeqCache = Math.max(newest, Number(this.getMeta("lastSeq") ?? 0));
  }

  get lastSeq(): number {
    return this.lastSeqCache;
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
        const row: Row = {
          seq: this.lastSeqCache + 1 + i,
          id: crypto.randomUUID(),
          client_id: input.clientId,
          author_id: input.author.id,
          author_name: input.author.name,
          text: input.text,
          reply_to: input.replyTo ? JSON.stringify(input.replyTo) : null,
          created_at: createdAt,
          edited_at: null,
          deleted_at: null,
        };
        this.sql.exec(
          `INSERT INTO messages (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          row.seq,
          row.id,
          row.client_id,
          row.author_id,
          row.author_name,
          row.text,
          row.reply_to,
          row.created_at,
          row.edited_at,
          row.deleted_at,
        );
        return toMessage(roomId, row);
      });
    const messages = inputs.length === 1 ? write() : this.storage.transactionSync(write);
    this.lastSeqCache += messages.length;
    return messages;
  }

  insert(roomId: string, input: NewMessage, now = new Date()): Message {
    return this.insertAll(roomId, [input], now)[0]!;
  }

  /** The lowest seq still held locally (lastSeq + 1 when none is). */
  get firstLocalSeq(): number {
    const row = this.sql.exec<{ seq: number | null }>("SELECT min(seq) AS seq FROM messages").one();
    return row.seq ?? this.lastSeqCache + 1;
  }

  /** Messages with lo <= seq <= hi that are held locally, ascending. */
  range(roomId: string, lo: number, hi: number): Message[] {
    return this.sql
      .exec<Row>(`SELECT ${COLUMNS} FROM messages WHERE seq BETWEEN ? AND ? ORDER BY seq`, lo, hi)
      .toArray()
      .map((r) => toMessage(roomId, r));
  }

  byId(roomId: string, id: string): Message | null {
    const row = this.sql.exec<Row>(`SELECT ${COLUMNS} FROM messages WHERE id = ?`, id).toArray()[0];
    return row ? toMessage(roomId, row) : null;
  }

  /** Changes a held message (edit or delete); the new revision is flushed like a new row. */
  update(roomId: string, seq: number, change: { text: string; editedAt?: string; deletedAt?: string }): Message | null {
    const row = this.sql
      .exec<Row>(
        `UPDATE messages SET text = ?, edited_at = coalesce(?, edited_at), deleted_at = coalesce(?, deleted_at), rev = rev + 1
         WHERE seq = ? RETURNING ${COLUMNS}`,
        change.text,
        change.editedAt ?? null,
        change.deletedAt ?? null,
        seq,
      )
      .toArray()[0];
    return row ? toMessage(roomId, row) : null;
  }

  /** Rows whose current revision is not in D1 yet, oldest first. */
  dirty(limit: number): DirtyRow[] {
    return this.sql
      .exec<DirtyRow>(`SELECT ${COLUMNS}, rev FROM messages WHERE rev > flushed_rev ORDER BY seq LIMIT ?`, limit)
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
   * still inside their lifetime) and clientIds past it.
   */
  prune(keep: number, now = Date.now()): void {
    const upTo = this.lastSeqCache - keep;
    this.storage.transactionSync(() => {
      this.setMeta("lastSeq", String(this.lastSeqCache));
      this.sql.exec(
        `INSERT OR IGNORE INTO client_ids (author_id, client_id, seq, created_at)
         SELECT author_id, client_id, seq, CAST(round((julianday(created_at) - 2440587.5) * 86400000) AS INTEGER)
         FROM messages WHERE seq <= ? AND rev = flushed_rev AND client_id IS NOT NULL AND created_at >= ?`,
        upTo,
        new Date(now - CLIENT_ID_TTL_MS).toISOString(),
      );
      this.sql.exec("DELETE FROM messages WHERE seq <= ? AND rev = flushed_rev", upTo);
      this.sql.exec("DELETE FROM client_ids WHERE created_at < ?", now - CLIENT_ID_TTL_MS);
    });
  }
}
