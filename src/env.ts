/**
 * The Worker's bindings in one place. `Env` itself is generated from wrangler.toml by
 * `npm run types` (worker-configuration.d.ts); secrets are not in that file, so they are
 * added here.
 */
import type { Identity } from "./protocol";

export type Bindings = Env & {
  /** HS256 signing secret for access tokens. Set with `wrangler secret put JWT_SECRET`. */
  JWT_SECRET?: string;
  /** When set, tokens must carry this `iss` / `aud`. */
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  /** Upstash Redis for limits and topics; without them the embedded default serves. */
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Postmark's server token or Resend's API key, for EMAIL_PROVIDER "postmark" / "resend". */
  EMAIL_API_TOKEN?: string;
  /** Signs one-click unsubscribe links; without it a key derived from JWT_SECRET does. */
  UNSUBSCRIBE_SECRET?: string;
  /** Web Push (VAPID): the P-256 public point (65 bytes) and private key (32 bytes), base64url. */
  VAPID_PUBLIC_KEY?: string;
  VAPID_PRIVATE_KEY?: string;
};

export interface AppEnv {
  Bindings: Bindings;
  Variables: { user: Identity };
}
