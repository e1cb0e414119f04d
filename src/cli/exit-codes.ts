/**
 * The CLI's exit codes, for scripts and CI: 0 the run (or command) succeeded, 1 a run failed or was
 * cancelled (or the API refused the operation), 2 a usage error (bad arguments, or the API found the
 * request invalid), 3 the API cannot be reached or refuses the token.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports in one line and exits with. `body` is the API's answer, for `--json`. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly body: unknown;

  constructor(exitCode: ExitCode, message: string, body: unknown = null) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
    this.body = body;
  }
}
