import { Writable } from "node:stream";
import { runCli } from "../../src/cli/cli";

/** A stream that keeps what is written to it. */
export function capture() {
  let text = "";
  const stream = new Writable({ write: (chunk, _encoding, done) => ((text += chunk.toString()), done()) }) as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

/** Runs the CLI in process, as `npm run pipeline -- …args` would, with these environment variables. */
export async function cli(args: string[], env: Record<string, string> = {}) {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli(args, { stdout: stdout.stream, stderr: stderr.stream, env });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
