/**
 * Single-use socket tickets. A ticket is a random string that stands in for the caller's token
 * in a socket URL (`?ticket=`) for 60 seconds, once. Each ticket is its own small Durable Object
 * (named by the ticket), so "once" holds across every isolate and location: the object answers
 * one redemption at a time, forgets the ticket synchronously before it answers, then deletes its
 * storage. An alarm deletes a ticket nobody redeemed.
 */
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env";
import type { Identity } from "../protocol";

/** How long a ticket is valid after it is issued. */
export const TICKET_TTL_MS = 60_000;

/** 32 random bytes, base64url: 43 characters. */
const TICKET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newTicket(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Whether `value` could be a ticket at all; anything else is refused without touching storage. */
export const isTicket = (value: string) => TICKET_PATTERN.test(value);

interface Stored {
  user: Identity;
  expiresAt: number;
}

export class Ticket extends DurableObject<Bindings> {
  /** Stores who the ticket stands for; a ticket is issued once (a second issue changes nothing). */
  async issue(user: Identity, expiresAt: number): Promise<boolean> {
    const kv = this.ctx.storage.kv;
    if (kv.get<Stored>("ticket") !== undefined) return false;
    kv.put<Stored>("ticket", { user, expiresAt });
    await this.ctx.storage.setAlarm(expiresAt);
    return true;
  }

  /** The identity, exactly once and only before the ticket expires; null otherwise. */
  async redeem(): Promise<Identity | null> {
    const kv = this.ctx.storage.kv;
    const stored = kv.get<Stored>("ticket");
    if (stored === undefined) return null;
    // Gone before anything else can run here (synchronous storage): a second redemption finds nothing.
    kv.delete("ticket");
    await this.forget();
    return stored.expiresAt > Date.now() ? stored.user : null;
  }

  async alarm(): Promise<void> {
    await this.forget();
  }

  /** Leaves nothing behind: no alarm, no storage. */
  private async forget(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }
}

export const ticketStub = (env: Bindings, ticket: string) => env.TICKET.get(env.TICKET.idFromName(ticket));
