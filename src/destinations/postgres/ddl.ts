import { BOOKKEEPING_COLUMNS, type ColumnSettings, type ColumnType } from "../../engine/columns";
import type { PostgresDestination } from "./settings";

/**
 * The PostgreSQL table a destination needs, made from its definition: each column's type and
 * nullability, the engine's bookkeeping columns, the key as the primary key (what ON CONFLICT needs).
 * Names are plain lower-case names (the schema checks them), so nothing needs quoting; they are quoted
 * anyway so a name that is also a keyword (`position`, `user`) works.
 */
export const POSTGRES_TYPES = { text: "text", integer: "bigint", real: "double precision", boolean: "boolean", timestamp: "timestamp with time zone" } as const satisfies Record<ColumnType, string>;

export type PostgresType = (typeof POSTGRES_TYPES)[ColumnType] | "jsonb";

/** The engine's own columns: the run that wrote the row, when, and the record's position in that run. */
export const BOOKKEEPING_TYPES = {
  run_id: { type: "text", nullable: false },
  loaded_at: { type: "bigint", nullable: false },
  position: { type: "bigint", nullable: true },
} as const satisfies Record<(typeof BOOKKEEPING_COLUMNS)[number], { type: PostgresType; nullable: boolean }>;

export const quoted = (name: string) => `"${name}"`;

export const tableName = (destination: Pick<PostgresDestination, "schema" | "table">) => `${quoted(destination.schema)}.${quoted(destination.table)}`;

/** The type a column is stored as. */
export function postgresType(destination: Pick<PostgresDestination, "jsonb">, column: Pick<ColumnSettings, "name" | "type">): PostgresType {
  return destination.jsonb.includes(column.name) ? "jsonb" : POSTGRES_TYPES[column.type];
}

/** Every column the table has, in order: the definition's, then the bookkeeping ones. */
export function tableColumns(destination: Pick<PostgresDestination, "columns" | "jsonb">): { name: string; type: PostgresType; nullable: boolean }[] {
  return [
    ...destination.columns.map((column) => ({ name: column.name, type: postgresType(destination, column), nullable: column.nullable })),
    ...BOOKKEEPING_COLUMNS.map((name) => ({ name, ...BOOKKEEPING_TYPES[name] })),
  ];
}

export function createTableSql(destination: Pick<PostgresDestination, "schema" | "table" | "columns" | "key" | "jsonb">): string {
  const columns = tableColumns(destination).map((column) => `  ${quoted(column.name)} ${column.type}${column.nullable ? "" : " NOT NULL"}`);
  const schema = destination.schema === "public" ? "" : `CREATE SCHEMA IF NOT EXISTS ${quoted(destination.schema)};\n`;
  return `${schema}CREATE TABLE IF NOT EXISTS ${tableName(destination)} (\n${columns.join(",\n")},\n  PRIMARY KEY (${destination.key.map(quoted).join(", ")})\n);\n`;
}
