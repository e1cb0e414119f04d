import { describeType } from "./numbers";
import type { RawRecord } from "./records";

export type SourcePayload = { ok: true; records: RawRecord[] } | { ok: false; reason: string };

/**
 * Checks a source's response body. Problems with the payload as a whole (empty, HTML, not JSON, not an
 * array) fail the run with a reason; problems with single records are left to the transform stage.
 */
export function parseSourcePayload(body: string): SourcePayload {
  const text = body.trim();
  if (text.length === 0) return { ok: false, reason: "the source answered with an empty body" };
  if (text.startsWith("<")) {
    return { ok: false, reason: `the source answered with HTML or XML, not JSON (starts with ${JSON.stringify(text.slice(0, 40))})` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `the source answered with malformed JSON: ${detail}` };
  }
  if (!Array.isArray(parsed)) {
    return { ok: false, reason: `the source must answer with a JSON array of records, got ${describeType(parsed)}` };
  }
  return { ok: true, records: parsed };
}
