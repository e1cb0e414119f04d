/**
 * A destination's columns and the row type they imply, so the compiler checks a transform's output
 * against its table: a missing column, an extra one, or a value of the wrong type does not compile.
 */
export const COLUMN_TYPES = ["text", "integer", "real"] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** A column: its SQLite type, and whether it may hold null. */
export type ColumnSpec = ColumnType | { type: ColumnType; nullable: true };
export type Columns = Record<string, ColumnSpec>;

type Scalar<T extends ColumnType> = T extends "text" ? string : number;
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
 */
export function columnProblem(column: ColumnSettings, value: unknown): string | null {
  if (value === null || value === undefined) return column.nullable ? null : `${column.name} is ${value === null ? "null" : "missing"}`;
  switch (column.type) {
    case "text":
      return typeof value === "string" ? null : `${column.name} must be text, got ${typeof value}`;
    case "integer":
      return typeof value === "number" && Number.isSafeInteger(value) ? null : `${column.name} must be an integer, got ${JSON.stringify(value)?.slice(0, 40)}`;
    case "real":
      return typeof value === "number" && Number.isFinite(value) ? null : `${column.name} must be a finite number, got ${JSON.stringify(value)?.slice(0, 40)}`;
  }
}
