/**
 * Which failures are worth retrying. Transient: the network, timeouts, a server that is overloaded or
 * says "try later". Permanent: everything that would fail the same way again (a 404, a malformed payload).
 */
export type FailureKind = "transient" | "permanent";

export function classifyHttpStatus(status: number): FailureKind {
  if (status === 408 || status === 429 || status >= 500) return "transient";
  return "permanent";
}

const TRANSIENT_MESSAGE =
  /network|connection (?:lost|reset|refused|closed)|econnreset|socket hang up|timed? ?out|timeout|overloaded|too many requests|temporarily|try again|unavailable|SQLITE_BUSY|database is locked|\bbusy\b|internal error; reference|durable object reset|exceeded its memory/i;

/** Classifies an error by its message, for errors that come without a status (D1, RPC, fetch). */
export function classifyErrorMessage(message: string): FailureKind {
  return TRANSIENT_MESSAGE.test(message) ? "transient" : "permanent";
}

/** An expected failure of a stage, with whether trying again could help. */
export class StageFailure extends Error {
  override readonly name = "StageFailure";
  constructor(
    message: string,
    readonly kind: FailureKind = "permanent",
  ) {
    super(message);
  }
}
