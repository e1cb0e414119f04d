/**
 * npm run check: loads the whole deployment in plain Node, as the Worker would, with the variables in
 * wrangler.jsonc, and fails (exit 1) on any pipeline definition with a mistake, with the message the
 * Worker would log: names, crons, time zones, keys, columns and sources are caught before a server starts.
 * The pipeline files import each other without file extensions, as the Worker's bundler reads them, so
 * they are bundled here first (esbuild, which wrangler uses too).
 */
import { build } from "esbuild";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse } from "jsonc-parser";

const ROOT = resolve(import.meta.dirname, "..");
const out = mkdtempSync(join(tmpdir(), "check-deployment-"));
try {
  await build({
    stdin: {
      contents: `export { deployment } from "./src/pipelines"; export { reportDeployment } from "./src/engine/deployment-report"; export { objectBucketProblems } from "./src/engine/triggers";`,
      resolveDir: ROOT,
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    // node-postgres is CommonJS: its require("events") needs a require in an ESM bundle.
    banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
    outfile: join(out, "deployment.mjs"),
    logLevel: "error",
  });
  const { deployment, reportDeployment, objectBucketProblems } = await import(pathToFileURL(join(out, "deployment.mjs")).href);
  const config = parse(readFileSync(join(ROOT, "wrangler.jsonc"), "utf8")) as { vars?: Record<string, unknown>; d1_databases?: { binding: string }[]; r2_buckets?: { binding: string; bucket_name?: string }[]; hyperdrive?: { binding: string }[] };
  // The bindings wrangler.jsonc declares stand in for the real ones: a source or destination that names one
  // the Worker will not have is caught here.
  const bindings = Object.fromEntries([
    ...[...(config.d1_databases ?? []), ...(config.r2_buckets ?? [])].map(({ binding }) => [binding, { declaredIn: "wrangler.jsonc" }]),
    // A Hyperdrive binding as the deployed Worker has it: its database is whatever `wrangler hyperdrive create` was given.
    ...(config.hyperdrive ?? []).map(({ binding }) => [binding, { declaredIn: "wrangler.jsonc", connectionString: "postgres://…", database: "(deployed)" }]),
  ]);
  const report = reportDeployment(deployment, { ...bindings, ...(config.vars ?? {}) });
  for (const line of report.lines) console.log(line);
  if (!report.ok) {
    console.log("npm run check: a pipeline definition has mistakes (above); the Worker would set it aside and run the others.");
    process.exitCode = 1;
  }
  const buckets = Object.fromEntries((config.r2_buckets ?? []).flatMap(({ binding, bucket_name }) => (bucket_name ? [[binding, bucket_name]] : [])));
  for (const problem of objectBucketProblems(deployment.all(), buckets) as string[]) {
    console.log(`error ${problem}`);
    process.exitCode = 1;
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
