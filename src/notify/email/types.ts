/** What every email provider takes, and the checks every email passes before it leaves. */
import type { Bindings } from "../../env";
import { PermanentDelivery } from "../errors";

export interface OutgoingEmail {
  /** The idempotency key: the same id is one email, however often it is handed over. */
  id: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
  headers: Record<string, string>;
}

export interface EmailProvider {
  /** Throws RetryableDelivery or PermanentDelivery (src/notify/errors.ts) when it fails. */
  send(mail: OutgoingEmail): Promise<void>;
}

/** The sender, `EMAIL_FROM` (`Name <address>` or a bare address). */
export function senderOf(env: Bindings): { from: string; address: string } {
  const from = env.EMAIL_FROM?.trim();
  if (!from) throw new PermanentDelivery("EMAIL_FROM is not set: emails need a sender (wrangler.toml [vars])");
  const address = /<([^<>\s]+@[^<>\s]+)>\s*$/.exec(from)?.[1] ?? from;
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(address)) throw new PermanentDelivery(`EMAIL_FROM has no valid address: ${from}`);
  return { from, address };
}

// A line break in a header would let whoever controls its value add headers of their own.
const HEADER_NAME = /^[!-9;-~]{1,76}$/;
const BREAKS = /[\r\n\0]/;

/** Refuses what no provider should be handed: header injection, a recipient that is no address. */
export function checkEmail(mail: OutgoingEmail): void {
  if (!mail.id || mail.id.length > 256) throw new PermanentDelivery("email id must be 1-256 characters");
  if (!/^[^\s@<>,;"]+@[^\s@<>,;"]+$/.test(mail.to)) throw new PermanentDelivery("email recipient is not one plain address");
  if (BREAKS.test(mail.subject)) throw new PermanentDelivery("email subject contains a line break");
  for (const [name, value] of Object.entries(mail.headers)) {
    if (!HEADER_NAME.test(name) || BREAKS.test(value)) throw new PermanentDelivery(`email header ${JSON.stringify(name.slice(0, 40))} is malformed`);
  }
}
