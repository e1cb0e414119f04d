import { classifyErrorMessage, StageFailure, type FailureKind } from "../../domain/failures";

/**
 * PostgreSQL's errors as stage failures: worth another try or not, said with what was being done and
 * where (schema, table, column, constraint, as the server names them), secrets taken out.
 *
 * By SQLSTATE class (https://www.postgresql.org/docs/15/errcodes-appendix.html): a lost or refused
 * connection (08), a serialization failure or deadlock (40), too many connections or no resources (53),
 * the server shutting down or starting (57P01–57P03), a statement or lock timeout (57014, 55P03) and an
 * I/O error (58) may pass; bad SQL, a missing table or column, a constraint, a value the column cannot
 * hold, a refused login or a write in a read-only transaction will not.
 */
const TRANSIENT_STATES = [/^08/, /^40001$/, /^40P01$/, /^53/, /^57P0[123]$/, /^57014$/, /^55P03$/, /^58/];

/**
 * Errors from the socket or the driver, before any SQLSTATE: the network, or the server going away. A
 * connection that broke between statements (the server's FATAL arriving while no query waited for it)
 * fails the next query with node-postgres's "Client has encountered a connection error and is not
 * queryable".
 */
const TRANSIENT_DRIVER = /ECONNREFUSED|cannot connect|could not connect|connection attempt failed|proxy request failed|ECONNRESET|EPIPE|ETIMEDOUT|connection terminated|terminating connection|connection error and is not queryable|socket (?:has been )?closed|timeout expired|timeout exceeded|Query read timeout|network|stream/i;

interface DatabaseErrorFields {
  code?: unknown;
  /** Only the server's errors have one: a `code` without it is the platform's (EPIPE), not a SQLSTATE. */
  severity?: unknown;
  detail?: unknown;
  hint?: unknown;
  schema?: unknown;
  table?: unknown;
  column?: unknown;
  constraint?: unknown;
}

export function postgresKind(error: unknown): FailureKind {
  const fields = (typeof error === "object" && error !== null ? error : {}) as DatabaseErrorFields;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof fields.code === "string" && typeof fields.severity === "string" && /^[0-9A-Z]{5}$/.test(fields.code)) {
    return TRANSIENT_STATES.some((state) => state.test(fields.code as string)) ? "transient" : "permanent";
  }
  if (TRANSIENT_DRIVER.test(message)) return "transient";
  return classifyErrorMessage(message);
}

/** Takes each secret out of a message (longest first, so a connection string goes before its password). */
export function scrubbed(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) if (secret.length > 0) result = result.replaceAll(secret, "***");
  return result;
}

/** The failure a PostgreSQL error makes, naming where the server says it happened. */
export function postgresFailure(error: unknown, doing: string, secrets: readonly string[]): StageFailure {
  const fields = (typeof error === "object" && error !== null ? error : {}) as DatabaseErrorFields;
  const message = error instanceof Error ? error.message : String(error);
  const where = [
    typeof fields.table === "string" ? `table ${typeof fields.schema === "string" ? `${fields.schema}.` : ""}${fields.table}` : null,
    typeof fields.column === "string" ? `column ${fields.column}` : null,
    typeof fields.constraint === "string" ? `constraint ${fields.constraint}` : null,
  ].filter((part): part is string => part !== null);
  const state = typeof fields.code === "string" && typeof fields.severity === "string" ? ` [SQLSTATE ${fields.code}]` : "";
  // Secrets out before anything is cut short, so a secret across the cut cannot leave a prefix behind.
  const detail = typeof fields.detail === "string" ? `; ${scrubbed(fields.detail, secrets).slice(0, 300)}` : "";
  const hint = typeof fields.hint === "string" ? ` (hint: ${scrubbed(fields.hint, secrets).slice(0, 200)})` : "";
  const text = `PostgreSQL, ${doing}: ${message}${where.length > 0 ? ` (${where.join(", ")})` : ""}${detail}${hint}${state}`;
  return new StageFailure(scrubbed(text, secrets), postgresKind(error));
}
