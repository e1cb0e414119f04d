import { BOOKKEEPING_COLUMNS, type ColumnSettings, type ColumnType } from "../../engine/columns";
import type { D1Destination } from "./settings";

/**
 * The D1 table a destination needs, as SQL made from its definition: its columns with their types and
 * nullability, the engine's bookkeeping columns, the key as the primary key. Names are plain SQL names
 * (the deployment checks them), so nothing here needs quoting. What a migration adds beyond it (CHECK
 * constraints, indexes) is the migration's.
 */
const SQL_TYPES: Record<ColumnType, string> = { text: "TEXT", integer: "INTEGER", real: "REAL", boolean: "INTEGER", timestamp: "TEXT" };

const BOOKKEEPING_SQL: Record<(typeof BOOKKEEPING_COLUMNS)[number], string> = { run_id: '"run_id" TEXT NOT NULL', loaded_at: '"loaded_at" INTEGER NOT NULL', position: '"position" INTEGER' };

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
