/**
 * The CLI's entry, bundled by `npm run build:cli` (on install, and by `npm run pipeline` each time) into
 * dist/cli/pipeline.mjs, the package's `bin`: bundled because it shares the API's response schemas with
 * the Worker, whose modules Node cannot load as they are.
 */
import { runCli } from "./cli.ts";

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
