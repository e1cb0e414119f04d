import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import { planCluster } from "./scripts/lib/postgres-cluster.ts";

/**
 * Three projects:
 * - "pure": the pure modules (domain logic, source format parsers, the engine's definitions and settings,
 *   the example pipelines' own logic) in plain Node. They import nothing from Cloudflare, and running them
 *   outside workerd keeps it that way.
 * - "runtime": inside workerd with the real bindings from wrangler.jsonc (Durable Objects, D1, R2,
 *   alarms) and the default configuration (the built-in sample source).
 * - "http-source": the same, with PIPELINE_SOURCE_URL pointing at a host MSW answers for. A separate
 *   project because a Worker variable cannot change between tests.
 * - "postgres": the same, with the HYPERDRIVE binding on a throwaway PostgreSQL cluster the project
 *   starts and stops (test/setup/postgres-cluster.ts), for the PostgreSQL source and destination.
 */
/** Tests of modules that import nothing from Cloudflare, run in plain Node to keep it that way. */
const PURE = ["test/domain/**/*.test.ts", "test/parquet/**/*.test.ts", "test/alerts/**/*.test.ts", "test/docs/**/*.test.ts", "test/http/**/*.test.ts", "test/sources/**/*.test.ts", "test/engine/**/*.test.ts", "test/pipelines/**/*.test.ts", "test/cli/**/*.test.ts", "test/dashboard/**/*.test.ts", "test/scripts/**/*.test.ts"];

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  // The cluster's place and password are chosen here, once per process (the config may be read twice),
  // so the Worker's binding knows them; the project's global setup starts it. The password has the
  // characters a URL must escape, and the secrecy tests look for it in everything a run leaves.
  process.env.PIPELINE_TEST_POSTGRES ??= JSON.stringify(await planCluster({ password: `pg'S3cret@${Date.now().toString(36)}%!` }));
  const postgres = JSON.parse(process.env.PIPELINE_TEST_POSTGRES) as { url: string };
  // The API is closed without a token unless ALLOW_UNAUTHENTICATED is "true", as in local development;
  // the auth tests override both per request. R2 notifications are simulated, as `npm run dev` has them.
  const workers = (vars: Record<string, string> = {}, hyperdrives: Record<string, string> = {}) =>
    cloudflareTest({
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: { bindings: { TEST_MIGRATIONS: migrations, ALLOW_UNAUTHENTICATED: "true", LOCAL_R2_NOTIFICATIONS: "true", ...vars }, hyperdrives },
    });
  /**
   * The workerd projects run their files one after another in each worker's runtime instead of a fresh one
   * per file (isolate: false): starting the runtime and the Worker's modules cost about 5 s per file, most
   * of the suite's time. Files therefore share storage; tests name their own agents, and
   * test/setup/shared-pipeline.ts puts the one shared pipeline (`default`) back before each file.
   */
  const shared = {
    isolate: false,
    silent: "passed-only" as const,
    // Runs share two cores with the other test files; a deadline is a hang detector, not a speed target.
    testTimeout: 20_000,
  };
  return {
    test: {
      // Vitest leaves one core free by default; on a 2-core machine that means one test file at a time.
      maxWorkers: Math.max(2, availableParallelism() - 1),
      // Structured run logs are useful when a test fails and noise when it passes.
      silent: "passed-only" as const,
      projects: [
        {
          test: { name: "pure", environment: "node", include: PURE, silent: "passed-only" as const, testTimeout: 20_000 },
        },
        {
          plugins: [workers()],
          test: {
            name: "runtime",
            ...shared,
            include: ["test/**/*.test.ts"],
            exclude: [...PURE, "test/http-source/**", "test/postgres/**"],
            setupFiles: ["./test/setup/apply-migrations.ts", "./test/support/test-pipelines.ts", "./test/setup/shared-pipeline.ts"],
          },
        },
        {
          plugins: [
            workers({
              PIPELINE_SOURCE_URL: "https://source.example.test/records",
              // Secrets that sources refer to as {{SOURCE_TOKEN}} and {{OTHER_TOKEN}} (one that URLs re-encode).
              SOURCE_TOKEN: "test-source-token",
              OTHER_TOKEN: "ab'cd~secret!",
              // Alerts go to a receiver MSW plays (accepting by default; tests replace it).
              ALERT_WEBHOOK_URL: "https://hooks.example.test/pipeline",
              PUBLIC_BASE_URL: "https://pipeline.example.test",
              // Quick retries and short timeouts, so failure paths run in milliseconds.
              PIPELINE_CONFIG: JSON.stringify({
                retries: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 40 },
                timeouts: { sourceMs: 4_000, stageMs: 1_000 },
              }),
            }),
          ],
          test: {
            name: "http-source",
            ...shared,
            include: ["test/http-source/**/*.test.ts"],
            setupFiles: ["./test/setup/apply-migrations.ts", "./test/support/test-pipelines.ts", "./test/setup/shared-pipeline.ts", "./test/setup/network.ts"],
          },
        },
        {
          // A second binding on a port nothing listens on: a database that refuses connections.
          plugins: [workers({}, { HYPERDRIVE: postgres.url, HYPERDRIVE_DOWN: "postgres://app:down-password@127.0.0.1:9/pipeline" })],
          test: {
            name: "postgres",
            ...shared,
            include: ["test/postgres/**/*.test.ts"],
            globalSetup: ["./test/setup/postgres-cluster.ts"],
            setupFiles: ["./test/setup/apply-migrations.ts", "./test/support/test-pipelines.ts", "./test/setup/shared-pipeline.ts"],
          },
        },
      ],
    },
  };
});
