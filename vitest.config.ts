import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Three projects:
 * - "domain": the pure modules in plain Node. They import nothing from Cloudflare, and running them
 *   outside workerd keeps it that way.
 * - "runtime": inside workerd with the real bindings from wrangler.jsonc (Durable Objects, D1, R2,
 *   alarms) and the default configuration (the built-in sample source).
 * - "http-source": the same, with PIPELINE_SOURCE_URL pointing at a host MSW answers for. A separate
 *   project because a Worker variable cannot change between tests.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  const workers = (vars: Record<string, string> = {}) =>
    cloudflareTest({
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: { bindings: { TEST_MIGRATIONS: migrations, ...vars } },
    });
  return {
    test: {
      // Structured run logs are useful when a test fails and noise when it passes.
      silent: "passed-only" as const,
      projects: [
        {
          test: { name: "domain", environment: "node", include: ["test/domain/**/*.test.ts"], silent: "passed-only" as const },
        },
        {
          plugins: [workers()],
          test: { name: "runtime", silent: "passed-only" as const, include: ["test/**/*.test.ts"], exclude: ["test/domain/**", "test/http-source/**"], setupFiles: ["./test/setup/apply-migrations.ts"] },
        },
        {
          plugins: [workers({ PIPELINE_SOURCE_URL: "https://source.example.test/records" })],
          test: { name: "http-source", silent: "passed-only" as const, include: ["test/http-source/**/*.test.ts"], setupFiles: ["./test/setup/apply-migrations.ts", "./test/setup/network.ts"] },
        },
      ],
    },
  };
});
