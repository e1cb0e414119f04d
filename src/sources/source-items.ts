/**
 * What a source format yields: records as parsed, or a piece of input that could not be used as a record
 * (an NDJSON line that is not JSON, a CSV row with the wrong number of fields, anything over the record
 * limit). Both keep their order, so every item gets a position in the run, and neither is ever dropped.
 */
export type SourceItem = { ok: true; record: unknown } | { ok: false; raw: string; reason: string };

/** A problem with the payload as a whole: the run cannot use this source's answer. */
export class PayloadError extends Error {
  override readonly name = "PayloadError";
}
