/**
 * The CLI's entry: `npm run pipeline -- <command>` runs this file with Node 22 (which runs TypeScript);
 * the package's `bin` is the same code bundled by `npm run build:cli` (on install) into dist/cli.
 */
import { runCli } from "./cli.ts";

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
