/**
 * Messages as D1 holds them, turned into the contract's shape. Shared by the room's reads of
 * what it no longer holds, search and the room list, so all three quote replies the same way:
 * from the quoted row as it is now, never from a copy.
 */
import { quoteOf, type AttachmentRef, type Message, type ReplyRef } from "../protocol";

/** A message as both stores hold it (the room's SQLite and D1 share these columns). */
export type StoredMessage = {
  seq: number;
  id: string;
  client_id: string | null;
  author_id: string;
  author_name: string;
  text: string;
  reply_to_id: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
  /** JSON `{ emoji: [userId, ...] }`, null for none. */
  reactions: string | null;
  /** JSON `AttachmentRef[]`, null for none. */
  attachments: string | null;
};

/** The columns of `StoredMessage`, in the order `storedValues` gives them. */
export const STORED_COLUMNS =
  "seq, id, client_id, author_id, author_name, text, reply_to_id, created_at, edited_at, deleted_at, reactions, attachments";

/** A row's values in `STORED_COLUMNS` order: for binding in the room, as a JSON list for D1. */
export const storedValues = (r: StoredMessage) => [
  r.seq, r.id, r.client_id, r.author_id, r.author_name, r.text, r.reply_to_id, r.created_at, r.edited_at, r.deleted_at, r.reactions, r.attachments,
];

/** The quoted row's columns beside a reply (all null when it quotes nothing or the row is gone). */
export type QuoteColumns = {
  q_author_id: string | null;
  q_author_name: string | null;
  q_text: string | null;
  q_deleted_at: string | null;
};

/** A D1 row with its room, revision and its quote's source. */
export type MessageWithQuote = StoredMessage &
  QuoteColumns & {
    room_id: string;
    rev: number;
  };

type QuoteSource = Pick<StoredMessage, "author_id" | "author_name" | "text" | "deleted_at">;

/** What a reply quotes, from the joined columns; null when the quoted row was not found. */
export function quoteSource(r: QuoteColumns): QuoteSource | null {
  return r.q_author_id === null
    ? null
    : { author_id: r.q_author_id, author_name: r.q_author_name ?? "", text: r.q_text ?? "", deleted_at: r.q_deleted_at };
}

/** `SELECT … FROM messages m LEFT JOIN messages q` — append WHERE/ORDER on `m`. */
export const SELECT_MESSAGES = `
  SELECT m.id, m.room_id, m.seq, m.client_id, m.author_id, m.author_name, m.text, m.created_at,
         m.edited_at, m.deleted_at, m.reactions, m.attachments, m.reply_to_id, m.rev,
         q.author_id AS q_author_id, q.author_name AS q_author_name, q.text AS q_text, q.deleted_at AS q_deleted_at
  FROM messages m LEFT JOIN messages q ON q.id = m.reply_to_id`;

/** The quote of a message from the quoted row as it is now (null: the row no longer exists). */
export function quoteOfRow(id: string, target: QuoteSource | null): ReplyRef {
  return quoteOf(id, target && { author: { id: target.author_id, name: target.author_name }, text: target.text, deletedAt: target.deleted_at });
}

/** The message a stored row holds; its quote is the caller's to fill in (it may need D1). */
export function toMessage(roomId: string, r: StoredMessage, replyTo: ReplyRef | null = null): Message {
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
    replyTo,
    attachments: r.attachments ? (JSON.parse(r.attachments) as AttachmentRef[]) : [],
    reactions: r.reactions ? (JSON.parse(r.reactions) as Record<string, string[]>) : {},
  };
}

export function fromD1Row(r: MessageWithQuote): Message {
  return toMessage(r.room_id, r, r.reply_to_id === null ? null : quoteOfRow(r.reply_to_id, quoteSource(r)));
}
