/**
 * What a room's message list shows: the server's messages in seq order (live ones, older pages,
 * edits and deletes applied) followed by this user's sends that the server has not stored
 * yet. A pending send is replaced by the server's copy (found by its clientId) the moment that
 * copy arrives, whichever way it comes (live, a sync, a page of history), so it never shows twice.
 */
import { quoteOf, type Message, type UserRef } from "../protocol";
import type { ChatError } from "./errors";

/** A send the server has not stored yet, shown at once. */
export interface PendingMessage {
  pending: true;
  clientId: string;
  roomId: string;
  text: string;
  replyTo?: string;
  attachments?: string[];
  /** This user, once known (from the token or the welcome). */
  author: UserRef | null;
  /** When it was sent, by this device's clock. */
  createdAt: string;
  /** Set when the server refused it; it stays until retried or discarded. */
  error?: ChatError;
}

export type TimelineEntry = Message | PendingMessage;

export const isPendingMessage = (entry: TimelineEntry): entry is PendingMessage => "pending" in entry && entry.pending === true;

export class Timeline {
  private readonly bySeq = new Map<number, Message>();
  private readonly seqById = new Map<string, number>();
  private readonly pendings = new Map<string, PendingMessage>();
  /** The user whose sends these are, so someone else's clientId never replaces one of ours. */
  me: string | null = null;

  /** Adds or replaces messages (by seq); returns true if anything changed. */
  put(messages: Message[]): boolean {
    for (const m of messages) {
      this.bySeq.set(m.seq, m);
      this.seqById.set(m.id, m.seq);
      if (m.clientId !== null && (this.me === null || m.author.id === this.me)) this.pendings.delete(m.clientId);
    }
    return messages.length > 0;
  }

  /** An edit, delete or reaction: the message, and the quotes of replies to it. */
  update(message: Message): void {
    this.put([message]);
    for (const m of this.bySeq.values()) {
      if (m.replyTo?.id === message.id) this.bySeq.set(m.seq, { ...m, replyTo: quoteOf(message.id, message) });
    }
  }

  addPending(p: PendingMessage): void {
    this.pendings.set(p.clientId, p);
  }
  failPending(clientId: string, error: ChatError): PendingMessage | undefined {
    const p = this.pendings.get(clientId);
    if (p) this.pendings.set(clientId, { ...p, error });
    return this.pendings.get(clientId);
  }
  removePending(clientId: string): boolean {
    return this.pendings.delete(clientId);
  }
  pending(clientId: string): PendingMessage | undefined {
    return this.pendings.get(clientId);
  }

  byId(id: string): Message | undefined {
    const seq = this.seqById.get(id);
    return seq === undefined ? undefined : this.bySeq.get(seq);
  }

  /** The lowest seq held, or null when empty. */
  get firstSeq(): number | null {
    let first: number | null = null;
    for (const seq of this.bySeq.keys()) if (first === null || seq < first) first = seq;
    return first;
  }

  /** Messages by seq, then pending sends in the order they were made. */
  entries(): TimelineEntry[] {
    const messages = [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
    return [...messages, ...this.pendings.values()];
  }
}
