import { BOOKKEEPING_COLUMNS, type ColumnSettings, type ColumnType } from "../../engine/columns";
import type { D1Destination } from "./settings";

/**
 * The D1 table a destination needs, as SQL made from its definition: its columns with their types and
 * nullability, the engine's bookkeeping columns, the key as the primary key. Names are plain SQL names
 * (the deployment checks them), so nothing here needs quoting. What a migration adds beyond it (CHECK
 * constraints, indexes) is the migration's.
 */
export const SQL_TYPES = { text: "TEXT", integer: "INTEGER", real: "REAL", boolean: "INTEGER", timestamp: "TEXT" } as const satisfies Record<ColumnType, string>;
export type SqlType = (typeof SQL_TYPES)[ColumnType];

/** The engine's own columns as every destination table has them (src/engine/columns.ts). */
export const BOOKKEEPING_SHAPE = {
  run_id: { type: "TEXT", nullable: false },
  loaded_at: { type: "INTEGER", nullable: false },
  position: { type: "INTEGER", nullable: true },
} as const satisfies Record<(typeof BOOKKEEPING_COLUMNS)[number], { type: SqlType; nullable: boolean }>;

const BOOKKEEPING_SQL = Object.fromEntries(
  BOOKKEEPING_COLUMNS.map((name) => [name, `"${name}" ${BOOKKEEPING_SHAPE[name].type}${BOOKKEEPING_SHAPE[name].nullable ? "" : " NOT NULL"}`]),
) as Record<(typeof BOOKKEEPING_COLUMNS)[number], string>;

const quoted = (name: string) => `"${name}"`;

export function columnSql(column: ColumnSettings): string {
  return `${quoted(column.name)} ${SQL_TYPES[column.type]}${column.nullable ? "" : " NOT NULL"}`;
}

export function createTableSql(destination: Pick<D1Destination, "table" | "columns" | "key">): string {
  const columns = [...destination.columns.map(columnSql), ...BOOKKEEPING_COLUMNS.map((name) => BOOKKEEPING_SQL[name])];
  return `CREATE TABLE ${quoted(destination.table)} (${columns.join(", ")}, PRIMARY KEY (${destination.key.map(quoted).join(", ")}))`;
}

/** A column a table lacks, as the ALTER that adds it (bookkeeping columns as the engine writes them). */
export function addColumnSql(table: string, column: ColumnSettings | (typeof BOOKKEEPING_COLUMNS)[number]): string {
  const definition = typeof column === "string" ? BOOKKEEPING_SQL[column].replace(" NOT NULL", "") : columnSql({ ...column, nullable: true });
  return `ALTER TABLE ${quoted(table)} ADD COLUMN ${definition}`;
}
