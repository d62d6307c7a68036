/**
 * Cloudflare's `send_email` binding: the message is built as MIME with mimetext, as Cloudflare's
 * docs do. `mimetext/browser`, not the package's default entry: that one is for Node, ends lines
 * with `os.EOL` (a bare LF on Linux, where mail wants CRLF) and pulls in mime-db.
 */
import { EmailMessage } from "cloudflare:email";
import { createMimeMessage } from "mimetext/browser";
import { base64url } from "../../lib/base64";
import { PermanentDelivery, RetryableDelivery } from "../errors";
import type { EmailProvider, OutgoingEmail } from "./types";

export class CloudflareEmailProvider implements EmailProvider {
  constructor(
    private readonly binding: SendEmail,
    private readonly sender: { from: string; address: string },
  ) {}

  async send(mail: OutgoingEmail): Promise<void> {
    const raw = buildMime(mail, this.sender);
    try {
      await this.binding.send(new EmailMessage(this.sender.address, mail.to, raw));
    } catch (err) {
      const message = `send_email: ${err instanceof Error ? err.message : String(err)}`;
      // The binding says what went wrong only in words: a recipient or sender it may never use,
      // or a message it will never take, does not pass on a retry; anything else might.
      if (/not (verified|allowed|permitted)|invalid|forbidden|too large|unauthori[sz]ed/i.test(message)) throw new PermanentDelivery(message);
      throw new RetryableDelivery(message);
    }
  }
}

/**
 * The raw message. Its Message-ID comes from the email's id, so a copy that a retry sends again
 * carries the same one, and mailboxes that drop repeated Message-IDs show it once.
 */
export function buildMime(mail: OutgoingEmail, sender: { from: string; address: string }): string {
  const msg = createMimeMessage();
  msg.setSender(sender.from);
  msg.setRecipient(mail.to);
  msg.setSubject(mail.subject);
  const domain = sender.address.split("@")[1]!;
  // Any other id as base64url of its bytes: still one Message-ID per id, and valid in one.
  const local = /^[A-Za-z0-9._-]{1,200}$/.test(mail.id) ? mail.id : `b.${base64url(new TextEncoder().encode(mail.id))}`;
  msg.setHeader("Message-ID", `<${local}@${domain}>`);
  for (const [name, value] of Object.entries(mail.headers)) msg.setHeader(name, value);
  msg.addMessage({ contentType: "text/plain", data: mail.text });
  if (mail.html !== undefined) msg.addMessage({ contentType: "text/html", data: mail.html });
  return msg.asRaw();
}
