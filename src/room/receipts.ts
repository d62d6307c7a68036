/**
 * What a message says about who has it: `readBy` (other members whose read position reached
 * it) everywhere, and in direct rooms `status` from the author's side (`delivered` once it
 * reached a socket of the other person, `read` once they read it). Computed from per-user
 * positions whenever a message leaves the room, never stored per message.
 */
import type { DeliveryStatus, Message } from "../protocol";
import type { Membership } from "./membership";
import type { ReadPositions } from "./reads";

export class Receipts {
  constructor(
    private readonly reads: ReadPositions,
    private readonly membership: Membership,
  ) {}

  /** The other person of a direct room, seen from `userId`; null in any other room. */
  peerOf(userId: string): string | null {
    if (this.membership.info?.kind !== "direct") return null;
    return this.membership.list().find((m) => m.id !== userId)?.id ?? null;
  }

  decorate(messages: Message[]): Message[] {
    for (const m of messages) {
      m.readBy = this.reads.readBy(m.seq, m.author.id);
      const peer = this.peerOf(m.author.id);
      if (peer !== null) m.status = this.status(m.seq, peer);
    }
    return messages;
  }

  status(seq: number, peer: string): DeliveryStatus {
    if (this.reads.get(peer) >= seq) return "read";
    return this.reads.deliveredTo(peer) >= seq ? "delivered" : "sent";
  }
}
