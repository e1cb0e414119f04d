/**
 * A destination's columns and the row type they imply, so the compiler checks a transform's output
 * against its table: a missing column, an extra one, or a value of the wrong type does not compile.
 */
export const COLUMN_TYPES = ["text", "integer", "real", "boolean", "timestamp"] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/**
 * A column: its type, and whether it may hold null. A timestamp is given as ISO 8601 text with a zone
 * ("2026-11-28T09:15:00+01:00") and kept as the UTC instant (D1: `2026-11-28T08:15:00.000Z`; Parquet:
 * TIMESTAMP in UTC); a boolean is true or false (D1: 1 or 0).
 */
export type ColumnSpec = ColumnType | { type: ColumnType; nullable: true };
export type Columns = Record<string, ColumnSpec>;

type Scalar<T extends ColumnType> = T extends "text" | "timestamp" ? string : T extends "boolean" ? boolean : number;
export type ColumnValue<S extends ColumnSpec> = S extends ColumnType ? Scalar<S> : S extends { type: infer T extends ColumnType; nullable: true } ? Scalar<T> | null : never;

/** The row a transform returns for a destination with these columns. */
export type RowOf<C extends Columns> = { [K in keyof C]: ColumnValue<C[K]> };

/** Columns the engine writes itself on every destination table, beside the pipeline's own. */
export const BOOKKEEPING_COLUMNS = ["run_id", "loaded_at", "position"] as const;

/** A column as stored with a run's settings. */
export interface ColumnSettings {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

export function columnSettings(columns: Columns): ColumnSettings[] {
  return Object.entries(columns).map(([name, spec]) =>
    typeof spec === "string" ? { name, type: spec, nullable: false } : { name, type: spec.type, nullable: spec.nullable === true },
  );
}

/**
 * Checks one value against its column at run time, for rows the compiler could not see (a transform that
 * casts): a wrong value is a rejected record, never a corrupt row. Returns the problem, or null.
 *
 * Text must be well-formed Unicode. JSON can carry a lone surrogate (`"\ud800"`), but UTF-8 cannot: a
 * destination stores it as invalid bytes and reads it back as U+FFFD, so such a value can never be stored
 * as it came, and the record is refused, naming the column, rather than written wrong (or, as a key,
 * colliding with another key). NUL is kept: D1 stores and returns it exactly.
 */
export function columnProblem(column: ColumnSettings, value: unknown): string | null {
  if (value === null || value === undefined) return column.nullable ? null : `${column.name} is ${value === null ? "null" : "missing"}`;
  switch (column.type) {
    case "text":
      if (typeof value !== "string") return `${column.name} must be text, got ${typeof value}`;
      return value.isWellFormed() ? null : `${column.name} is not well-formed Unicode (${describeLoneSurrogate(value)}), which no destination can store as it came`;
    case "integer":
      return typeof value === "number" && Number.isSafeInteger(value) ? null : `${column.name} must be an integer, got ${JSON.stringify(value)?.slice(0, 40)}`;
    case "real":
      return typeof value === "number" && Number.isFinite(value) ? null : `${column.name} must be a finite number, got ${JSON.stringify(value)?.slice(0, 40)}`;
    case "boolean":
      return typeof value === "boolean" ? null : `${column.name} must be true or false, got ${JSON.stringify(value)?.slice(0, 40)}`;
    case "timestamp":
      return typeof value === "string" && ISO_INSTANT.test(value) && Number.isFinite(Date.parse(value)) ? null : `${column.name} must be an ISO 8601 date-time with a zone (2026-11-28T09:15:00Z), got ${JSON.stringify(value)?.slice(0, 40)}`;
  }
}

/** A date-time with its zone (Z or ±hh:mm): one instant, whatever clock it was written on. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A checked value as destinations store it: a timestamp as its UTC instant, in one spelling. */
export function storedValue(column: ColumnSettings, value: unknown): unknown {
  return column.type === "timestamp" && typeof value === "string" ? new Date(Date.parse(value)).toISOString() : value;
}

/** Where the first lone surrogate of `text` is and what it is: `a lone surrogate \ud800 at character 5`. */
function describeLoneSurrogate(text: string): string {
  for (let index = 0; index < text.length; index += 1) {
    const unit = text.charCodeAt(index);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    if (unit <= 0xdbff && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00) {
      index += 1;
      continue;
    }
    return `a lone surrogate \\u${unit.toString(16)} at character ${index + 1}`;
  }
  return "a lone surrogate";
}
