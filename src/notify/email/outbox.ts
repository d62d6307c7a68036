/**
 * The local default provider: every email becomes a row of `email_outbox` instead of leaving,
 * keyed by its id, so a retried delivery writes it once. Dev mode lists them at
 * GET /api/dev/outbox (src/routes/dev.ts).
 */
import { desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { emailOutbox } from "../../db/schema";
import type { EmailProvider, OutgoingEmail } from "./types";

export class OutboxProvider implements EmailProvider {
  constructor(
    private readonly db: D1Database,
    private readonly from: string,
  ) {}

  async send(mail: OutgoingEmail): Promise<void> {
    await drizzle(this.db)
      .insert(emailOutbox)
      .values({
        id: mail.id,
        from: this.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html ?? null,
        headers: mail.headers,
        createdAt: new Date().toISOString(),
      })
      .onConflictDoNothing();
  }
}

export type OutboxEmail = typeof emailOutbox.$inferSelect;

/** The newest first, optionally only those to one address. */
export async function readOutbox(db: D1Database, limit: number, to?: string): Promise<OutboxEmail[]> {
  const query = drizzle(db).select().from(emailOutbox);
  return (to === undefined ? query : query.where(eq(emailOutbox.to, to))).orderBy(desc(emailOutbox.createdAt), desc(emailOutbox.id)).limit(limit);
}
