/**
 * The room's event outbox: what webhooks and notifications learn of, handed to the events
 * queue by the room's alarm and marked sent only once the queue has taken it, so a room evicted
 * between storing and enqueueing still sends each event (at least once; the consumers make it
 * exactly once by event id).
 *
 * New messages need no outbox row: the message row itself is stored before the ack, and a
 * cursor (`eventsThroughSeq`) says which ones the queue already has. So a send costs no extra
 * write. Changes and membership events get a row in `room_events`, written in the same storage
 * transaction as the change they describe.
 */
import { type ChatEvent, type EventType, type RoomEventMessage, eventMessage } from "../notify/events";
import { recipientsOf } from "../notify/recipients";
import type { Message } from "../protocol";
import { sendAll } from "../notify/send";
import { webhookTypes } from "./interest";
import type { RoomParts } from "./parts";

/** `created_seq`: a message's creation event, kept here because the message changed before it left (below). */
const SCHEMA = `CREATE TABLE IF NOT EXISTS room_events (n INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, created_seq INTEGER);`;
/** Events read per step. */
const BATCH = 50;

export class RoomEvents {
  private cursor: number;
  private queued: number;

  constructor(private readonly p: RoomParts) {
    p.ctx.storage.sql.exec(SCHEMA);
    const stored = p.store.getMeta("eventsThroughSeq");
    // A room from before the outbox existed starts at its present: old messages notify no one.
    this.cursor = stored === null ? p.store.lastSeq : Number(stored);
    if (stored === null) p.store.setMeta("eventsThroughSeq", String(this.cursor));
    this.queued = p.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM room_events").one().n;
  }

  /** Messages up to this seq are in the queue (or were before the outbox existed); rows above it must stay. */
  get throughSeq(): number {
    return this.cursor;
  }

  pending(): boolean {
    return this.queued > 0 || this.cursor < this.p.store.lastSeq;
  }

  /** Records a change's event; call it in the same synchronous step as the change itself. */
  record(roomId: string, event: Omit<ChatEvent, "createdAt">, notify: RoomEventMessage["notify"] = [], messageId: string | null = null): void {
    const body: RoomEventMessage = { kind: "room", roomId, event: { ...event, createdAt: new Date().toISOString() }, messageId, notify };
    this.p.ctx.storage.sql.exec("INSERT INTO room_events (body) VALUES (?)", JSON.stringify(body));
    this.queued++;
  }

  /**
   * A message is about to change before its creation event left: the event is recorded now,
   * as the message was, so `message.created` says what was sent (and a message deleted before
   * it left notifies nobody). Call it in the same synchronous step as the change.
   */
  beforeChange(roomId: string, current: Message, deleting: boolean): void {
    if (current.seq <= this.cursor) return;
    const { sql } = this.p.ctx.storage;
    if (sql.exec("SELECT 1 FROM room_events WHERE created_seq = ?", current.seq).toArray().length > 0) return;
    const body = this.created(roomId, current);
    if (deleting) body.notify = [];
    sql.exec("INSERT INTO room_events (body, created_seq) VALUES (?, ?)", JSON.stringify(body), current.seq);
    this.queued++;
  }

  /** Hands everything pending to the queue, oldest first. Throws (to the alarm's retry) if the queue refuses. */
  async dispatch(roomId: string): Promise<void> {
    const queue = this.p.env.EVENTS;
    while (this.cursor < this.p.store.lastSeq) {
      const upTo = Math.min(this.cursor + BATCH, this.p.store.lastSeq);
      const messages = await this.p.history.range(roomId, this.cursor + 1, upTo);
      const types = await webhookTypes(this.p.env.DB);
      const recorded = new Set(
        this.p.ctx.storage.sql
          .exec<{ seq: number }>("SELECT created_seq AS seq FROM room_events WHERE created_seq BETWEEN ? AND ?", this.cursor + 1, upTo)
          .toArray()
          .map((r) => r.seq),
      );
      const bodies = messages
        .filter((m) => !recorded.has(m.seq))
        .map((m) => this.created(roomId, m))
        .filter((b) => wanted(b, types));
      await sendAll(queue, bodies.map((body) => ({ body })));
      this.cursor = upTo;
      this.p.store.setMeta("eventsThroughSeq", String(upTo));
    }
    for (;;) {
      const rows = this.p.ctx.storage.sql
        .exec<{ n: number; body: string }>("SELECT n, body FROM room_events ORDER BY n LIMIT ?", BATCH)
        .toArray();
      if (rows.length === 0) break;
      const types = await webhookTypes(this.p.env.DB);
      const bodies = rows.map((r) => JSON.parse(r.body) as RoomEventMessage).filter((b) => wanted(b, types));
      await sendAll(queue, bodies.map((body) => ({ body })));
      this.p.ctx.storage.sql.exec("DELETE FROM room_events WHERE n <= ?", rows.at(-1)!.n);
      this.queued = Math.max(this.queued - rows.length, 0);
    }
  }

  private created(roomId: string, message: Message): RoomEventMessage {
    const { membership, connections, config } = this.p;
    const info = membership.info!;
    // In a visitor room the visitor is the one with a member row; staff reach it by their role.
    const visitor = info.kind === "visitor" && membership.get(message.author.id) !== undefined && !config.staff.includes(message.author.id);
    const author = { ...message.author, kind: visitor ? ("visitor" as const) : ("member" as const) };
    const notify = message.deletedAt
      ? []
      : recipientsOf(
          { author, text: message.text, hasFiles: message.attachments.length > 0, replyToAuthorId: message.replyTo?.author.id ?? null },
          {
            kind: info.kind,
            title: info.title,
            members: () => membership.list(),
            present: () => connections.online(),
            staff: config.staff,
            viewing: (userId) => connections.statusOf(userId) === "online",
          },
        );
    return {
      kind: "room",
      roomId,
      event: { id: eventId(roomId, "message.created", message.seq), type: "message.created", createdAt: message.createdAt, data: eventMessage(message) },
      messageId: message.id,
      notify,
    };
  }
}

/** Stable ids: the same event always gets the same id, so consumers can tell a retry. */
export const eventId = (roomId: string, type: EventType, key: string | number) => `evt_${roomId}_${type}_${key}`;

/** Whether anyone receives the event: someone to notify, or a webhook for its type. */
const wanted = (body: RoomEventMessage, types: Set<string> | null) => body.notify.length > 0 || types === null || types.has(body.event.type);
