import { isoInstant } from "../../domain/iso-instant";
import { categorize, DEFAULT_THRESHOLDS, type Category, type CategoryThresholds } from "./categories";
import { DEFAULT_FIELDS, DEFAULT_RULES, readField, type FieldMapping, type ValidationRules } from "./mapping";
import { describeType, parseMetricValue, quote } from "./numbers";

/** A validated, categorised reading: what the seed's pipeline writes to the `metrics` table. */
export interface CleanRecord {
  id: string;
  /** ISO-8601 in UTC. */
  timestamp: string;
  value: number;
  category: Category;
  /** `metadata.type` of the raw record (for the sample data, the sensor), or null. */
  type: string | null;
}

export type TransformResult =
  | { ok: true; record: CleanRecord }
  | { ok: false; id: string | null; reason: string };

export interface TransformOptions {
  fields: FieldMapping;
  thresholds: CategoryThresholds;
  rules: ValidationRules;
}

export const DEFAULT_TRANSFORM: TransformOptions = { fields: DEFAULT_FIELDS, thresholds: DEFAULT_THRESHOLDS, rules: DEFAULT_RULES };

export const MAX_ID_LENGTH = 256;

/**
 * Validates and categorises one raw reading (the seed's Transform stage), reading fields through the
 * pipeline's mapping and applying its rules. Every refusal carries a reason naming the field and the
 * problem; the caller records it, it is never dropped. Duplicate ids are a property of the whole run and
 * are checked by the load stage.
 */
export function transformRecord(raw: unknown, options: TransformOptions = DEFAULT_TRANSFORM): TransformResult {
  const { fields, thresholds, rules } = options;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, id: null, reason: `record must be an object, got ${describeType(raw)}` };
  }
  const record = raw as Record<string, unknown>;

  const id = read(record, fields.id, readId);
  if (!id.ok) return { ok: false, id: null, reason: id.reason };

  const rawValue = readField(record, fields.value);
  if (!rawValue.ok) return { ok: false, id: id.value, reason: rawValue.reason };
  const valueType = typeof rawValue.value;
  if ((valueType === "number" || valueType === "string") && !rules.valueTypes.includes(valueType)) {
    return { ok: false, id: id.value, reason: `${fields.value} must be a ${rules.valueTypes.join(" or ")}, got ${valueType}` };
  }
  const value = parseMetricValue(rawValue.value, fields.value);
  if (!value.ok) return { ok: false, id: id.value, reason: value.reason };
  if (rules.value.min !== undefined && value.value < rules.value.min) {
    return { ok: false, id: id.value, reason: `${fields.value} ${value.value} is below the minimum ${rules.value.min}` };
  }
  if (rules.value.max !== undefined && value.value > rules.value.max) {
    return { ok: false, id: id.value, reason: `${fields.value} ${value.value} is above the maximum ${rules.value.max}` };
  }

  const timestamp = read(record, fields.timestamp, readTimestamp);
  if (!timestamp.ok) return { ok: false, id: id.value, reason: timestamp.reason };

  const type = read(record, fields.type, readType);
  if (!type.ok) return { ok: false, id: id.value, reason: type.reason };
  if (rules.allowedTypes && (type.value === null || !rules.allowedTypes.includes(type.value))) {
    const shown = type.value === null ? "missing" : quote(type.value);
    return { ok: false, id: id.value, reason: `${fields.type} ${shown} is not one of the allowed types (${rules.allowedTypes.join(", ")})` };
  }

  for (const path of rules.requiredFields) {
    const field = readField(record, path);
    if (!field.ok) return { ok: false, id: id.value, reason: field.reason };
    if (field.value === undefined || field.value === null || field.value === "") {
      return { ok: false, id: id.value, reason: `required field ${path} is missing or empty` };
    }
  }

  return {
    ok: true,
    record: {
      id: id.value,
      timestamp: timestamp.value,
      value: value.value,
      category: categorize(value.value, thresholds),
      type: type.value,
    },
  };
}

type Read<T> = { ok: true; value: T } | { ok: false; reason: string };

function read<T>(record: Record<string, unknown>, path: string, check: (value: unknown, label: string) => Read<T>): Read<T> {
  const field = readField(record, path);
  return field.ok ? check(field.value, path) : field;
}

function readId(input: unknown, label: string): Read<string> {
  if (input === undefined || input === null) return { ok: false, reason: `${label} is missing` };
  if (typeof input === "number" && Number.isSafeInteger(input)) return { ok: true, value: String(input) };
  if (typeof input !== "string") return { ok: false, reason: `${label} must be a string, got ${describeType(input)}` };
  if (input.length === 0) return { ok: false, reason: `${label} is an empty string` };
  if (input.length > MAX_ID_LENGTH) {
    return { ok: false, reason: `${label} is ${input.length} characters long, the limit is ${MAX_ID_LENGTH}` };
  }
  if (input.trim() !== input) return { ok: false, reason: `${label} ${quote(input)} has leading or trailing whitespace` };
  // biome-ignore lint: control characters are exactly what this rejects
  if (/[\u0000-\u001f\u007f]/.test(input)) return { ok: false, reason: `${label} ${quote(input)} contains control characters` };
  return { ok: true, value: input };
}

// ISO-8601 date or date-time. A date-time without an offset is read as UTC.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const MAX_EPOCH_MS = 8.64e15;

function readTimestamp(input: unknown, label: string): Read<string> {
  if (input === undefined || input === null || input === "") return { ok: false, reason: `${label} is missing` };
  if (typeof input === "number") {
    if (!Number.isInteger(input) || input < 0 || input > MAX_EPOCH_MS) {
      return { ok: false, reason: `${label} ${input} is not a valid epoch time in milliseconds` };
    }
    return { ok: true, value: isoInstant(input) };
  }
  if (typeof input !== "string") {
    return { ok: false, reason: `${label} must be an ISO-8601 string or epoch milliseconds, got ${describeType(input)}` };
  }
  if (isCanonicalInstant(input)) return { ok: true, value: input };
  // CSV carries epoch milliseconds as text.
  if (/^\d{1,16}$/.test(input)) return readTimestamp(Number(input), label);
  if (!ISO_8601.test(input)) return { ok: false, reason: `${label} ${quote(input)} is not an ISO-8601 date` };
  const zoned = /[T ]\d{2}:\d{2}/.test(input) && !/(?:Z|[+-]\d{2}:?\d{2})$/.test(input) ? `${input}Z` : input;
  const ms = Date.parse(zoned.replace(" ", "T"));
  if (Number.isNaN(ms)) return { ok: false, reason: `${label} ${quote(input)} is not a valid date` };
  return { ok: true, value: isoInstant(ms) };
}

// What toISOString writes: most sources' timestamps are already in it.
const CANONICAL_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Whether the text is already the ISO form readTimestamp answers, of the instant it names, so it can be
 * kept as it is: formatting a date costs more than the rest of a record's checks (issue 21's profile).
 * A date that rolls over (02-30, 24:00) is not: the general reading turns it into the day it lands on.
 */
function isCanonicalInstant(input: string): boolean {
  if (input.length !== 24 || !CANONICAL_INSTANT.test(input)) return false;
  const ms = Date.parse(input);
  if (Number.isNaN(ms)) return false;
  const date = new Date(ms);
  return date.getUTCDate() === Number(input.slice(8, 10)) && date.getUTCMonth() + 1 === Number(input.slice(5, 7)) && date.getUTCHours() === Number(input.slice(11, 13));
}

function readType(input: unknown, label: string): Read<string | null> {
  if (input === undefined || input === null || input === "") return { ok: true, value: null };
  if (typeof input !== "string") return { ok: false, reason: `${label} must be a string, got ${describeType(input)}` };
  if (input.length > MAX_ID_LENGTH) return { ok: false, reason: `${label} is longer than ${MAX_ID_LENGTH} characters` };
  return { ok: true, value: input };
}
