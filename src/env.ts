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
};

export interface AppEnv {
  Bindings: Bindings;
  Variables: { user: Identity };
}
