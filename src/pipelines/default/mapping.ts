import { describeType } from "./numbers";

/** Where a source keeps each field a record needs. Paths use dots for nesting ("metadata.type"). */
export interface FieldMapping {
  id: string;
  value: string;
  timestamp: string;
  type: string;
}

/** The seed's record shape. */
export const DEFAULT_FIELDS: FieldMapping = { id: "id", value: "value", timestamp: "timestamp", type: "metadata.type" };

/** Rules beyond "the value is a number". */
export interface ValidationRules {
  /** Inclusive bounds for the value. */
  value: { min?: number; max?: number };
  /** JSON types a value may arrive as (CSV values are always strings). */
  valueTypes: ("number" | "string")[];
  /** If set, the only accepted values of the type field. */
  allowedTypes?: string[];
  /** Further fields that must be present and not empty. */
  requiredFields: string[];
  /** Refuse a record whose id was already seen in the run (the first occurrence wins). */
  rejectDuplicates: boolean;
}

export const DEFAULT_RULES: ValidationRules = {
  value: {},
  valueTypes: ["number", "string"],
  requiredFields: [],
  rejectDuplicates: true,
};

export type FieldRead = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * Reads a field by path. A key that literally contains the dots wins (CSV headers like "sensor.type"),
 * then the path is followed through nested objects. A missing field reads as undefined; a path through
 * something that is not an object is an error naming where it broke.
 */
export function readField(record: Record<string, unknown>, path: string): FieldRead {
  if (Object.hasOwn(record, path)) return { ok: true, value: record[path] };
  const parts = path.split(".");
  let current: unknown = record;
  for (const [index, part] of parts.entries()) {
    if (current === undefined || current === null) return { ok: true, value: undefined };
    if (typeof current !== "object" || Array.isArray(current)) {
      return { ok: false, reason: `${parts.slice(0, index).join(".")} must be an object, got ${describeType(current)}` };
    }
    current = (current as Record<string, unknown>)[part];
  }
  return { ok: true, value: current };
}
