/**
 * Email: the provider the settings choose (`EMAIL_PROVIDER`), and `sendEmail`, which every
 * email goes through so that each carries its one-click unsubscribe link. What an email says is
 * the caller's business; docs/notifications.md lists the settings.
 */
import { readConfig } from "../../config";
import type { Bindings } from "../../env";
import { PermanentDelivery } from "../errors";
import { OutboxProvider } from "./outbox";
import { PostmarkProvider } from "./postmark";
import { ResendProvider } from "./resend";
import { checkEmail, senderOf, type EmailProvider, type OutgoingEmail } from "./types";
import { unsubscribeHeaders, unsubscribeKey } from "./unsubscribe";

export type { EmailProvider, OutgoingEmail } from "./types";

export const EMAIL_PROVIDERS = ["outbox", "cloudflare", "postmark", "resend"] as const;
export type EmailProviderName = (typeof EMAIL_PROVIDERS)[number];

/** Where dev mode's links point when PUBLIC_URL is not set: `npm start`'s server. */
const DEV_BASE_URL = "http://localhost:8787";
/** The outbox needs no real sender; dev mode does not make anyone set one. */
const DEV_FROM = "edge-chat <notifications@localhost>";

/**
 * The provider `EMAIL_PROVIDER` names (default `outbox`). A setting that cannot work (an unknown
 * name, a missing token, binding or sender) fails each send with PermanentDelivery, saying why.
 */
export function emailProviderFor(env: Bindings): EmailProvider {
  const name = (env.EMAIL_PROVIDER?.trim() || "outbox") as EmailProviderName;
  const failing = (reason: string): EmailProvider => ({
    send: async () => {
      throw new PermanentDelivery(reason);
    },
  });
  try {
    switch (name) {
      case "outbox":
        return new OutboxProvider(env.DB, env.EMAIL_FROM?.trim() || DEV_FROM);
      case "cloudflare": {
        const binding = (env as { EMAIL?: SendEmail }).EMAIL;
        if (!binding) return failing('EMAIL_PROVIDER is "cloudflare" but there is no send_email binding named EMAIL (docs/notifications.md)');
        const sender = senderOf(env);
        // Loaded on the first email: mimetext brings core-js (about 125 KiB) that every cold
        // isolate would otherwise evaluate, though most deployments never use this provider.
        return {
          send: async (mail) => {
            const { CloudflareEmailProvider } = await import("./cloudflare");
            return new CloudflareEmailProvider(binding, sender).send(mail);
          },
        };
      }
      case "postmark":
      case "resend": {
        const token = env.EMAIL_API_TOKEN?.trim();
        if (!token) return failing(`EMAIL_PROVIDER is "${name}" but the secret EMAIL_API_TOKEN is not set`);
        const { from } = senderOf(env);
        return name === "postmark" ? new PostmarkProvider(token, from) : new ResendProvider(token, from);
      }
      default:
        return failing(`EMAIL_PROVIDER must be one of ${EMAIL_PROVIDERS.join(", ")}; it is "${String(name).slice(0, 40)}"`);
    }
  } catch (err) {
    if (err instanceof PermanentDelivery) return failing(err.message);
    throw err;
  }
}

/**
 * The Worker's public address, for links in emails: `PUBLIC_URL`, or in dev mode `npm start`'s.
 * RFC 8058 wants an https link; a deployment must say where it is reached.
 */
export function publicBaseUrl(env: Bindings): string {
  const configured = env.PUBLIC_URL?.trim().replace(/\/+$/, "");
  if (configured) return configured;
  if (readConfig(env).devMode) return DEV_BASE_URL;
  throw new PermanentDelivery("PUBLIC_URL is not set: emails cannot carry an unsubscribe link (wrangler.toml [vars])");
}

/**
 * Sends one email to `userId` through the configured provider, with the List-Unsubscribe
 * headers added. Idempotent by `mail.id` where the provider is (outbox, Resend); see
 * docs/notifications.md for the others. Throws RetryableDelivery or PermanentDelivery.
 */
export async function sendEmail(env: Bindings, mail: OutgoingEmail & { userId: string }): Promise<void> {
  if (unsubscribeKey(env) === null) {
    throw new PermanentDelivery("emails need a signed unsubscribe link, and there is no key: set UNSUBSCRIBE_SECRET or JWT_SECRET");
  }
  const { userId, ...rest } = mail;
  const outgoing: OutgoingEmail = { ...rest, headers: { ...rest.headers, ...(await unsubscribeHeaders(env, publicBaseUrl(env), userId)) } };
  checkEmail(outgoing);
  await emailProviderFor(env).send(outgoing);
}
