/**
 * Writes sent messages to the room's storage in groups. Each write ends in a SQLite commit,
 * which costs more than everything else a send does; so while sends follow each other closely
 * (a busy room, or a backlog after a stall) they wait up to `GROUP_MS` and share one commit.
 * A quiet room writes each message at once, inside the send's own event. Nobody hears of a
 * message before it is written: `append` resolves after the write, and what is sent after
 * that is held by the runtime until the write is durable.
 */
import type { Message } from "../protocol";
import type { MessageStore, NewMessage } from "./store";

/** How long after a write the next one may wait for company. */
export const GROUP_MS = 2;

interface Staged {
  roomId: string;
  input: NewMessage;
  resolve: (message: Message) => void;
  reject: (err: unknown) => void;
}

export class MessageWriter {
  private staged: Staged[] = [];
  /** Sends not yet written, by author and clientId, so a quick resend joins the first. */
  private readonly inFlight = new Map<string, Promise<Message>>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastWriteAt = 0;

  constructor(private readonly store: MessageStore) {}

  append(roomId: string, input: NewMessage): Promise<Message> {
    const written = new Promise<Message>((resolve, reject) => this.staged.push({ roomId, input, resolve, reject }));
    if (input.clientId !== null) {
      const key = clientKey(input.author.id, input.clientId);
      this.inFlight.set(key, written);
      const forget = () => this.inFlight.delete(key);
      written.then(forget, forget);
    }
    if (this.timer === null) {
      const wait = this.lastWriteAt + GROUP_MS - Date.now();
      if (wait <= 0) this.write();
      else this.timer = setTimeout(() => this.write(), wait);
    }
    return written;
  }

  /** The pending write of an earlier send with this clientId, if one is waiting. */
  pending(authorId: string, clientId: string): Promise<Message> | null {
    return this.inFlight.get(clientKey(authorId, clientId)) ?? null;
  }

  private write(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.staged;
    this.staged = [];
    this.lastWriteAt = Date.now();
    let messages: Message[];
    try {
      messages = this.store.insertAll(batch[0]!.roomId, batch.map((s) => s.input));
    } catch (err) {
      for (const s of batch) s.reject(err);
      return;
    }
    batch.forEach((s, i) => s.resolve(messages[i]!));
  }
}

const clientKey = (authorId: string, clientId: string) => `${authorId}\n${clientId}`;
