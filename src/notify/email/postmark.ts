/**
 * Postmark's HTTP API (https://postmarkapp.com/developer/api/email-api). It has no idempotency
 * key: an email whose request timed out after Postmark took it is sent again by a retry, so the
 * caller's own ledger is what keeps a retried batch from sending twice. The server token
 * `POSTMARK_API_TEST` makes Postmark check a request without sending anything.
 */
import { deliveryFetch, failureFor } from "../errors";
import type { EmailProvider, OutgoingEmail } from "./types";

export const POSTMARK_URL = "https://api.postmarkapp.com/email";

export class PostmarkProvider implements EmailProvider {
  constructor(
    private readonly token: string,
    private readonly from: string,
    private readonly url = POSTMARK_URL,
  ) {}

  async send(mail: OutgoingEmail): Promise<void> {
    const res = await deliveryFetch("Postmark", this.url, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json", "x-postmark-server-token": this.token },
      body: JSON.stringify({
        From: this.from,
        To: mail.to,
        Subject: mail.subject,
        TextBody: mail.text,
        ...(mail.html === undefined ? {} : { HtmlBody: mail.html }),
        Headers: Object.entries(mail.headers).map(([Name, Value]) => ({ Name, Value })),
        // Shown with the message in Postmark's activity, to find a delivery by its id.
        Metadata: { id: mail.id.slice(0, 80) },
        MessageStream: "outbound",
      }),
    });
    if (res.ok) return;
    // Postmark explains a refusal in {ErrorCode, Message}; 422 is a request it will never take.
    throw failureFor("Postmark", res, await res.text().catch(() => ""));
  }
}
