import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Every test runs inside workerd with the real bindings from wrangler.jsonc: Durable Objects, D1, R2 and
 * alarms. Two projects, because a Worker variable cannot change between tests: "runtime" uses the default
 * configuration (the built-in sample source), "http-source" points PIPELINE_SOURCE_URL at a host that
 * MSW answers for.
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
          plugins: [workers()],
          test: { name: "runtime", silent: "passed-only" as const, include: ["test/**/*.test.ts"], exclude: ["test/http-source/**"], setupFiles: ["./test/setup/apply-migrations.ts"] },
        },
        {
          plugins: [workers({ PIPELINE_SOURCE_URL: "https://source.example.test/records" })],
          test: { name: "http-source", silent: "passed-only" as const, include: ["test/http-source/**/*.test.ts"], setupFiles: ["./test/setup/apply-migrations.ts", "./test/setup/network.ts"] },
        },
      ],
    },
  };
});
