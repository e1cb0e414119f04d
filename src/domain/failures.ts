import type { SourceReport } from "./stage-report";

/**
 * Which failures are worth retrying. Transient: the network, timeouts, a server that is overloaded or
 * says "try later". Permanent: everything that would fail the same way again (a 404, a malformed payload,
 * running out of memory on the same input).
 */
export type FailureKind = "transient" | "permanent";

export function classifyHttpStatus(status: number): FailureKind {
  if (status === 408 || status === 429 || status >= 500) return "transient";
  return "permanent";
}

/** The same input runs out of memory again, so this is never retried; the advice says what to change. */
const MEMORY_MESSAGE = /exceeded (?:its |the )?memory|memory limit|out of memory|allocation failed/i;

const TRANSIENT_MESSAGE =
  /network|connection (?:lost|reset|refused|closed)|econnreset|socket hang up|timed? ?out|timeout|overloaded|too many requests|temporarily|try again|unavailable|SQLITE_BUSY|database is locked|\bbusy\b|internal error; reference|durable object reset|reset because its code was updated/i;

export const MEMORY_ADVICE = "it ran out of memory; lower chunkRecords (records per staged chunk) so a stage holds less at once";

/** Classifies an error by its message, for errors that come without properties (D1, RPC, fetch). */
export function classifyErrorMessage(message: string): FailureKind {
  if (MEMORY_MESSAGE.test(message)) return "permanent";
  return TRANSIENT_MESSAGE.test(message) ? "transient" : "permanent";
}

export function isMemoryError(message: string): boolean {
  return MEMORY_MESSAGE.test(message);
}

export interface Classified {
  kind: FailureKind;
  /** Cloudflare says this one is overloaded: retried, but only after the longest backoff. */
  overloaded: boolean;
  /** A memory-limit error: permanent, with advice. */
  memory: boolean;
}

/**
 * Classifies any thrown value. The properties Cloudflare puts on its errors come first (`retryable` and
 * `overloaded` on Durable Object and RPC errors, an HTTP `status`), then the message.
 */
export function classifyError(error: unknown): Classified {
  const message = error instanceof Error ? error.message : String(error);
  const memory = isMemoryError(message);
  if (memory) return { kind: "permanent", overloaded: false, memory };
  if (error instanceof StageFailure) return { kind: error.kind, overloaded: false, memory };
  if (typeof error === "object" && error !== null) {
    const properties = error as { retryable?: unknown; overloaded?: unknown; status?: unknown };
    if (properties.overloaded === true) return { kind: "transient", overloaded: true, memory };
    if (properties.retryable === true) return { kind: "transient", overloaded: false, memory };
    if (typeof properties.status === "number" && properties.status >= 100) return { kind: classifyHttpStatus(properties.status), overloaded: false, memory };
  }
  return { kind: classifyErrorMessage(message), overloaded: false, memory };
}

/** An expected failure of a stage, with whether trying again could help and how long the other side asked to wait. */
export class StageFailure extends Error {
  override readonly name = "StageFailure";
  constructor(
    message: string,
    readonly kind: FailureKind = "permanent",
    /** From a `Retry-After` header: how long the source asked to wait before the next try. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

/**
 * Reads a `Retry-After` header (RFC 9110: delay in seconds, or an HTTP date) as milliseconds from `now`;
 * null when absent or unreadable. A date in the past means "now".
 */
export function parseRetryAfter(header: string | null, now: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/** Extract gave up on every source; `source` reports the last one tried, with why the others were skipped. */
export class SourcesFailed extends StageFailure {
  constructor(
    message: string,
    readonly source: SourceReport,
  ) {
    super(message, "permanent");
  }
}
