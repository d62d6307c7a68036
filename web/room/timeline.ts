/**
 * A room's messages in seq order, each once, however they arrived (welcome, live, sync, older
 * pages, `updated`). `version` changes with every change, so views re-render from it; the array
 * itself is mutated in place, since copying 10,000 messages per live message would be waste.
 */
import { signal } from "@preact/signals";
import { quoteOf, type Message } from "../../src/protocol";

export class Timeline {
  readonly messages: Message[] = [];
  private readonly byId = new Map<string, Message>();
  private readonly byClientId = new Set<string>();
  readonly version = signal(0);

  get size(): number {
    return this.messages.length;
  }
  get first(): Message | undefined {
    return this.messages[0];
  }
  get last(): Message | undefined {
    return this.messages[this.messages.length - 1];
  }
  get(id: string): Message | undefined {
    return this.byId.get(id);
  }
  hasClientId(clientId: string): boolean {
    return this.byClientId.has(clientId);
  }

  /** Adds messages (any order, repeats ignored; a known id is replaced). */
  add(batch: Message[]): void {
    if (!batch.length) return;
    let sorted = true;
    for (const m of batch) {
      const old = this.byId.get(m.id);
      if (old) {
        this.messages[this.indexOf(old.seq)] = m;
      } else {
        const last = this.last;
        if (last && m.seq <= last.seq) sorted = false;
        this.messages.push(m);
      }
      this.byId.set(m.id, m);
      if (m.clientId) this.byClientId.add(m.clientId);
    }
    if (!sorted) this.messages.sort((a, b) => a.seq - b.seq);
    this.version.value++;
  }

  /** An edit, delete or reaction: the message, and the quotes of replies to it. */
  update(m: Message): void {
    const old = this.byId.get(m.id);
    // Not loaded (an older page): only the quotes of loaded replies to it change.
    if (old) {
      this.messages[this.indexOf(old.seq)] = m;
      this.byId.set(m.id, m);
    }
    for (let i = 0; i < this.messages.length; i++) {
      const reply = this.messages[i]!;
      if (reply.replyTo?.id === m.id) {
        const next = { ...reply, replyTo: quoteOf(m.id, m) };
        this.messages[i] = next;
        this.byId.set(next.id, next);
      }
    }
    this.version.value++;
  }

  /** Binary search by seq; -1 when absent. */
  indexOf(seq: number): number {
    let lo = 0;
    let hi = this.messages.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.messages[mid]!.seq;
      if (s === seq) return mid;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
