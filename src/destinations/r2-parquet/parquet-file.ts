import { parquetReadObjects } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import type { SchemaElement } from "hyparquet";
import type { ColumnSettings, ColumnType } from "../../engine/columns";

/**
 * A destination's rows as one Parquet file and back: integer → INT64, real → DOUBLE, text → STRING,
 * boolean → BOOLEAN, timestamp → TIMESTAMP (milliseconds, adjusted to UTC); a nullable column is
 * OPTIONAL, the rest REQUIRED. The engine's bookkeeping columns come last: run_id, loaded_at (a UTC
 * timestamp) and position, as on a D1 table. One row group per file, Snappy-compressed.
 */

/** A row as the dataset holds it: the destination's values in column order, then run id, load time, position. */
export type DatasetRow = unknown[];

const ELEMENT: Record<ColumnType, Omit<SchemaElement, "name" | "repetition_type">> = {
  text: { type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" } },
  integer: { type: "INT64" },
  real: { type: "DOUBLE" },
  boolean: { type: "BOOLEAN" },
  timestamp: { type: "INT64", converted_type: "TIMESTAMP_MILLIS", logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" } },
};

/** The dataset's columns: the destination's, then the bookkeeping ones. */
export function datasetColumns(columns: readonly ColumnSettings[]): ColumnSettings[] {
  return [...columns, { name: "run_id", type: "text", nullable: false }, { name: "loaded_at", type: "timestamp", nullable: false }, { name: "position", type: "integer", nullable: true }];
}

function schemaOf(columns: readonly ColumnSettings[]): SchemaElement[] {
  return [
    { name: "schema", num_children: columns.length },
    ...columns.map((column) => ({ name: column.name, repetition_type: column.nullable ? ("OPTIONAL" as const) : ("REQUIRED" as const), ...ELEMENT[column.type] })),
  ];
}

/** A value as the writer takes it: INT64 as bigint, a timestamp as the Date of its instant. */
function written(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === "integer") return BigInt(value as number);
  if (type === "timestamp") return new Date(typeof value === "number" ? value : Date.parse(value as string));
  return value;
}

/** A value as the engine holds it: numbers as numbers, a timestamp as ISO text in UTC. */
function read(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === "integer") return Number(value as bigint);
  if (type === "timestamp") return (value instanceof Date ? value : new Date(Number(value as bigint))).toISOString();
  return value;
}

export function encodeParquet(columns: readonly ColumnSettings[], rows: readonly DatasetRow[]): ArrayBuffer {
  const all = datasetColumns(columns);
  return parquetWriteBuffer({
    schema: schemaOf(all),
    columnData: all.map((column, index) => ({ name: column.name, data: rows.map((row) => written(column.type, row[index])) })),
    rowGroupSize: Math.max(1, rows.length),
    createdBy: "scheduled-pipeline",
  });
}

export async function decodeParquet(columns: readonly ColumnSettings[], bytes: ArrayBuffer): Promise<DatasetRow[]> {
  const all = datasetColumns(columns);
  const objects = (await parquetReadObjects({ file: bytes, columns: all.map((column) => column.name) })) as Record<string, unknown>[];
  return objects.map((object) => all.map((column) => read(column.type, object[column.name])));
}
