import { categorize, DEFAULT_THRESHOLDS, type CategoryThresholds } from "./categories";
import { describeType, parseMetricValue, quote } from "./numbers";
import type { CleanRecord, RawRecord } from "./records";

export type TransformResult =
  | { ok: true; record: CleanRecord }
  | { ok: false; id: string | null; reason: string };

export const MAX_ID_LENGTH = 256;

/**
 * Validates and categorises one raw record (the seed's Transform stage). Every refusal carries a reason
 * naming the field and the problem; the caller records it, it is never dropped.
 */
export function transformRecord(raw: RawRecord, thresholds: CategoryThresholds = DEFAULT_THRESHOLDS): TransformResult {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, id: null, reason: `record must be an object, got ${describeType(raw)}` };
  }
  const fields = raw as Record<string, unknown>;

  const id = readId(fields.id);
  if (!id.ok) return { ok: false, id: null, reason: id.reason };

  const value = parseMetricValue(fields.value);
  if (!value.ok) return { ok: false, id: id.value, reason: value.reason };

  const timestamp = readTimestamp(fields.timestamp);
  if (!timestamp.ok) return { ok: false, id: id.value, reason: timestamp.reason };

  const type = readType(fields.metadata);
  if (!type.ok) return { ok: false, id: id.value, reason: type.reason };

  return {
    ok: true,
    record: {
      id: id.value,
      timestamp: timestamp.value,
      value: value.value,
      category: categorize(value.value, thresholds),
      type: type.value,
      cleaned: true,
    },
  };
}

type Read<T> = { ok: true; value: T } | { ok: false; reason: string };

function readId(input: unknown): Read<string> {
  if (input === undefined || input === null) return { ok: false, reason: "id is missing" };
  if (typeof input === "number" && Number.isSafeInteger(input)) return { ok: true, value: String(input) };
  if (typeof input !== "string") return { ok: false, reason: `id must be a string, got ${describeType(input)}` };
  if (input.length === 0) return { ok: false, reason: "id is an empty string" };
  if (input.length > MAX_ID_LENGTH) {
    return { ok: false, reason: `id is ${input.length} characters long, the limit is ${MAX_ID_LENGTH}` };
  }
  if (input.trim() !== input) return { ok: false, reason: `id ${quote(input)} has leading or trailing whitespace` };
  // biome-ignore lint: control characters are exactly what this rejects
  if (/[\u0000-\u001f\u007f]/.test(input)) return { ok: false, reason: `id ${quote(input)} contains control characters` };
  return { ok: true, value: input };
}

// ISO-8601 date or date-time. A date-time without an offset is read as UTC.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const MAX_EPOCH_MS = 8.64e15;

function readTimestamp(input: unknown): Read<string> {
  if (input === undefined || input === null) return { ok: false, reason: "timestamp is missing" };
  if (typeof input === "number") {
    if (!Number.isInteger(input) || input < 0 || input > MAX_EPOCH_MS) {
      return { ok: false, reason: `timestamp ${input} is not a valid epoch time in milliseconds` };
    }
    return { ok: true, value: new Date(input).toISOString() };
  }
  if (typeof input !== "string") {
    return { ok: false, reason: `timestamp must be an ISO-8601 string or epoch milliseconds, got ${describeType(input)}` };
  }
  if (!ISO_8601.test(input)) return { ok: false, reason: `timestamp ${quote(input)} is not an ISO-8601 date` };
  const zoned = /[T ]\d{2}:\d{2}/.test(input) && !/(?:Z|[+-]\d{2}:?\d{2})$/.test(input) ? `${input}Z` : input;
  const ms = Date.parse(zoned.replace(" ", "T"));
  if (Number.isNaN(ms)) return { ok: false, reason: `timestamp ${quote(input)} is not a valid date` };
  return { ok: true, value: new Date(ms).toISOString() };
}

function readType(metadata: unknown): Read<string | null> {
  if (metadata === undefined || metadata === null) return { ok: true, value: null };
  if (typeof metadata !== "object" || Array.isArray(metadata)) {
    return { ok: false, reason: `metadata must be an object, got ${describeType(metadata)}` };
  }
  const type = (metadata as Record<string, unknown>).type;
  if (type === undefined || type === null) return { ok: true, value: null };
  if (typeof type !== "string") return { ok: false, reason: `metadata.type must be a string, got ${describeType(type)}` };
  if (type.length > MAX_ID_LENGTH) return { ok: false, reason: `metadata.type is longer than ${MAX_ID_LENGTH} characters` };
  return { ok: true, value: type };
}
