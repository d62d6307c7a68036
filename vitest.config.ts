import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // Inside workerd: real Durable Objects, D1 and sockets through the Worker.
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                DEV_MODE: "true",
                // Alarms are driven by the tests (runDurableObjectAlarm), not by the clock.
                FLUSH_INTERVAL_MS: "3600000",
                STAFF_USER_IDS: "staff1,staff2",
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/node/**"],
          setupFiles: ["./test/setup/apply-migrations.ts"],
          testTimeout: 20_000,
        },
      },
      {
        // Plain Node: tests that drive `wrangler dev`, Chromium or Redis from outside.
        test: {
          name: "node",
          environment: "node",
          include: ["test/node/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
