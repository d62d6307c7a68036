import type { D1Migration } from "@cloudflare/vitest-plugin";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** Set in the limits-upstash project only (vitest.config.ts). */
      UPSTASH_REDIS_REST_URL?: string;
      UPSTASH_REDIS_REST_TOKEN?: string;
      /** An Upstash REST endpoint that answers only after 3 s, and one where nothing listens. */
      TEST_SLOW_REDIS_URL?: string;
      TEST_DOWN_REDIS_URL?: string;
      /** The stand-in identity provider (test/setup/jwks-server.ts), workers project only. */
      TEST_JWKS_URL?: string;
      /** The push service and email API stand-ins (test/setup/receivers.ts), workers project only. */
      TEST_RECEIVER_URL?: string;
      /** The webhook receiver (test/setup/webhook-receiver.ts), workers project only. */
      TEST_WEBHOOK_URL?: string;
    }
  }
}
