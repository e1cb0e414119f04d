export type ParsedNumber = { ok: true; value: number } | { ok: false; reason: string };

// A decimal literal as people write it in data: optional sign, digits with an optional fraction (or a bare
// fraction), optional exponent. No hex, no "Infinity", no "NaN", no thousands separators.
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Reads a metric value. The whole input must be a finite number: JSON numbers, or strings that are
 * exactly a decimal literal. Unlike `Number()`/`parseFloat()`, "12abc", "", "  12 " and "Infinity" are
 * refused, so a value is never silently guessed.
 */
export function parseMetricValue(input: unknown, label = "value"): ParsedNumber {
  if (typeof input === "number") {
    if (!Number.isFinite(input)) return { ok: false, reason: `${label} ${String(input)} is not a finite number` };
    return { ok: true, value: normalizeZero(input) };
  }
  if (input === null || input === undefined) return { ok: false, reason: `${label} is missing` };
  if (typeof input !== "string") {
    return { ok: false, reason: `${label} must be a number or a numeric string, got ${describeType(input)}` };
  }
  if (input.length === 0) return { ok: false, reason: `${label} is an empty string` };
  if (input.trim() !== input) {
    return { ok: false, reason: `${label} ${quote(input)} has leading or trailing whitespace` };
  }
  if (!DECIMAL.test(input)) return { ok: false, reason: `${label} ${quote(input)} is not a number` };
  const value = Number(input);
  if (!Number.isFinite(value)) return { ok: false, reason: `${label} ${quote(input)} is out of range` };
  return { ok: true, value: normalizeZero(value) };
}

/** -0 would be stored and displayed as 0 anyway; normalise it so equality checks agree. */
function normalizeZero(value: number): number {
  return value === 0 ? 0 : value;
}

export function describeType(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "array";
  return typeof input;
}

/** Quotes user data for a message, cut short so a huge value cannot flood logs or responses. */
export function quote(text: string, max = 60): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(shown);
}
