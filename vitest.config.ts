import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { freePort } from "./scripts/local-upstash.mjs";
import { TEST_HOSTS } from "./test/setup/receivers.ts";

// The Upstash project's servers (test/setup/redis-servers.ts), the stand-in identity
// provider's key sets (test/setup/jwks-server.ts), the push service and email APIs
// (test/setup/receivers.ts) and the webhook receiver (test/setup/webhook-receiver.ts) listen
// here; the Worker's bindings below point at them. The "down" port is one nobody will listen on.
for (const name of ["TEST_REDIS_PORT", "TEST_UPSTASH_PORT", "TEST_SLOW_UPSTASH_PORT", "TEST_DOWN_UPSTASH_PORT", "TEST_JWKS_PORT", "TEST_RECEIVER_PORT", "TEST_WEBHOOK_PORT"]) {
  process.env[name] ??= String(await freePort());
}
const REDIS_TOKEN = (process.env.TEST_UPSTASH_TOKEN ??= "test-upstash-token");
const restUrl = (name: string) => `http://127.0.0.1:${process.env[name]}`;

const migrations = await readD1Migrations("./migrations");
const baseBindings = {
  DEV_MODE: "true",
  // Alarms are driven by the tests (runDurableObjectAlarm), not by the clock.
  FLUSH_INTERVAL_MS: "3600000",
  STAFF_USER_IDS: "staff1,staff2",
  TEST_MIGRATIONS: migrations,
};

/**
 * The Worker's outgoing requests, as miniflare's `outboundService`: https requests for the test
 * hostnames (a push service, Postmark, Resend) go to the local receivers instead, with the host
 * they were meant for in `x-forwarded-host`; everything else goes where it was going. They are
 * https, and the push library refuses any other endpoint, so an address cannot simply point here.
 */
async function outbound(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const headers = new Headers(request.headers);
  for (const name of ["host", "connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"]) headers.delete(name);
  let target = request.url;
  if (url.protocol === "https:" && TEST_HOSTS.includes(url.hostname)) {
    target = `http://127.0.0.1:${process.env.TEST_RECEIVER_PORT}${url.pathname}${url.search}`;
    headers.set("x-forwarded-host", url.hostname);
  }
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
  return fetch(target, { method: request.method, headers, body, redirect: "manual" });
}

/** Tests send far more than a person would, so these projects raise the budgets (never remove them). */
const RAISED = {
  RATE_SENDS: "100000/1m",
  RATE_FRAMES: "100000/1m",
  RATE_CONNECTIONS: "100000/1m",
  RATE_UPLOADS: "100000/1m",
  RATE_SEARCHES: "100000/1m",
  RATE_TICKETS: "100000/1m",
};

const CHANNEL_TESTS = ["test/notify-channels.test.ts"];

/** A project inside workerd: real Durable Objects, D1, R2 and sockets through the Worker. */
function workers(name: string, include: string[], bindings: Record<string, unknown>, extra: object = {}, miniflare: object = {}) {
  return {
    plugins: [
      cloudflareTest(async () => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: { bindings: { ...baseBindings, ...bindings }, ...miniflare },
      })),
    ],
    test: {
      name,
      include,
      setupFiles: ["./test/setup/apply-migrations.ts"],
      testTimeout: 20_000,
      ...extra,
    },
  };
}

export default defineConfig({
  test: {
    // The Worker's one-line JSON request logs (src/lib/log.ts) would bury the test output; its
    // warnings and errors still show.
    onConsoleLog: (line) => !line.startsWith('{"level":"info"'),
    projects: [
      // Everything but the limits (which run with wrangler.toml's own budgets, below).
      workers(
        "workers",
        ["test/*.test.ts"],
        {
          ...RAISED,
          // Key sets for RS256/ES256 tokens; tests pass a set's URL as JWKS_URL per request.
          TEST_JWKS_URL: restUrl("TEST_JWKS_PORT"),
          // Webhook endpoints that verify and record deliveries (test/webhooks.test.ts).
          TEST_WEBHOOK_URL: restUrl("TEST_WEBHOOK_PORT"),
        },
        {
          globalSetup: ["./test/setup/jwks-server.ts", "./test/setup/webhook-receiver.ts"],
          exclude: ["**/node_modules/**", ...CHANNEL_TESTS],
        },
      ),
      // Very large rooms (src/shard/) at a small scale: two sockets per object, so a handful of
      // sockets spans the room and three shards.
      workers("shards", ["test/shards/**/*.test.ts"], { ...RAISED, ROOM_SHARD_THRESHOLD: "2" }),
      // The same with the shards spread over two regions (src/shard/regions.ts).
      workers("shard-regions", ["test/shard-regions/**/*.test.ts"], { ...RAISED, ROOM_SHARD_THRESHOLD: "2", ROOM_SHARD_REGIONS: "wnam,weur" }),
      // The push and email channels, whose https requests the outbound service below routes to
      // local stand-ins. A project of their own: everything else keeps the runtime's own
      // networking (a dropped connection is an error there, not a 500 from the outbound hop).
      workers(
        "channels",
        CHANNEL_TESTS,
        {
          ...RAISED,
          // What the push service and email API stand-ins received (test/setup/receivers.ts).
          TEST_RECEIVER_URL: restUrl("TEST_RECEIVER_PORT"),
        },
        { globalSetup: ["./test/setup/receivers.ts"] },
        { outboundService: outbound },
      ),
      // The limits, guards and topics suite, once against the embedded default...
      workers("limits-embedded", ["test/limits/**/*.test.ts"], {}),
      // ...and once against Upstash's REST protocol in front of a real redis-server.
      workers(
        "limits-upstash",
        ["test/limits/**/*.test.ts", "test/redis/**/*.test.ts"],
        {
          UPSTASH_REDIS_REST_URL: restUrl("TEST_UPSTASH_PORT"),
          UPSTASH_REDIS_REST_TOKEN: REDIS_TOKEN,
          TEST_SLOW_REDIS_URL: restUrl("TEST_SLOW_UPSTASH_PORT"),
          TEST_DOWN_REDIS_URL: restUrl("TEST_DOWN_UPSTASH_PORT"),
        },
        { globalSetup: ["./test/setup/redis-servers.ts"] },
      ),
      {
        // Plain Node: tests that drive `wrangler dev`, Chromium or Redis from outside.
        test: {
          name: "node",
          environment: "node",
          include: ["test/node/**/*.test.ts"],
          // Builds dist/client/ first: some tests import "edge-chat/client" as an app would.
          globalSetup: ["./test/setup/build-client.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
