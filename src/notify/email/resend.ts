/**
 * Resend's HTTP API (https://resend.com/docs/api-reference/emails/send-email). The email's id
 * is the `Idempotency-Key`: for 24 hours Resend answers a repeat with the first answer and sends
 * nothing, so a retry after a lost answer does not send twice.
 */
import { deliveryFetch, failureFor, RetryableDelivery } from "../errors";
import type { EmailProvider, OutgoingEmail } from "./types";

export const RESEND_URL = "https://api.resend.com/emails";

export class ResendProvider implements EmailProvider {
  constructor(
    private readonly token: string,
    private readonly from: string,
    private readonly url = RESEND_URL,
  ) {}

  async send(mail: OutgoingEmail): Promise<void> {
    const res = await deliveryFetch("Resend", this.url, {
      method: "POST",
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json", "idempotency-key": mail.id },
      body: JSON.stringify({
        from: this.from,
        to: [mail.to],
        subject: mail.subject,
        text: mail.text,
        ...(mail.html === undefined ? {} : { html: mail.html }),
        headers: mail.headers,
      }),
    });
    if (res.ok) return;
    const detail = await res.text().catch(() => "");
    // 409 is about the key: another request with it is still running (try again), or the key
    // was used for a different email (never passes).
    if (res.status === 409 && detail.includes("concurrent_idempotent_requests")) {
      throw new RetryableDelivery(`Resend answered 409: the same email is being sent by another request`);
    }
    throw failureFor("Resend", res, detail);
  }
}
