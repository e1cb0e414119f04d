import type { PostgresClient } from "../../sources/postgres/client";
import { createTableSql, quoted, tableColumns, tableName, type PostgresType } from "./ddl";
import { qualified, type PostgresDestination } from "./settings";

/**
 * The live table against the definition, before a load writes its first row: a missing table, a missing
 * column, a column of another type, a NOT NULL the rows would break, or no unique index on the key (ON
 * CONFLICT needs one) fails the load whole, naming each difference with the SQL that puts it right,
 * rather than half way through with the server's error.
 */

interface LiveColumn {
  name: string;
  type: string;
  nullable: boolean;
  has_default: boolean;
  /** The type's modifiers: varchar(n), numeric(p, s), timestamptz(p). */
  max_length: number | null;
  numeric_precision: number | null;
  datetime_precision: number | null;
}

const COLUMNS_QUERY = `SELECT column_name AS name, data_type AS type, is_nullable = 'YES' AS nullable, column_default IS NOT NULL AS has_default,
    character_maximum_length AS max_length, CASE WHEN data_type = 'numeric' THEN numeric_precision END AS numeric_precision, datetime_precision
  FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`;

/**
 * The key columns of the table's unique indexes that ON CONFLICT can use: valid, not deferred, without a
 * WHERE, on plain columns (an index on an expression has a 0 in indkey), INCLUDE columns left out.
 */
const UNIQUE_QUERY = `SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns
  FROM pg_index i
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
  WHERE n.nspname = $1 AND t.relname = $2 AND i.indisunique AND i.indisvalid AND i.indimmediate AND i.indpred IS NULL
    AND i.indexprs IS NULL AND NOT (0 = ANY(i.indkey::int2[])) AND k.ord <= i.indnkeyatts
  GROUP BY i.indexrelid`;

/** information_schema's names for the types each stored type may also be kept in without loss. */
const ACCEPTED: Record<PostgresType, readonly string[]> = {
  text: ["text", "character varying"],
  bigint: ["bigint", "numeric"],
  "double precision": ["double precision", "numeric"],
  boolean: ["boolean"],
  "timestamp with time zone": ["timestamp with time zone"],
  jsonb: ["jsonb", "json"],
};

/**
 * A type that would change what is stored: a varchar(n) too short for some text, a numeric(p, s) that
 * rounds, a timestamptz(p) under milliseconds (two instants a millisecond apart would become one key).
 */
function narrows(column: LiveColumn): boolean {
  if (column.type === "character varying") return column.max_length !== null;
  if (column.type === "numeric") return column.numeric_precision !== null;
  if (column.type === "timestamp with time zone") return column.datetime_precision !== null && column.datetime_precision < 3;
  return false;
}

function typeText(column: LiveColumn): string {
  if (column.type === "character varying" && column.max_length !== null) return `character varying(${column.max_length})`;
  if (column.type === "numeric" && column.numeric_precision !== null) return `numeric(${column.numeric_precision}, …)`;
  if (column.type === "timestamp with time zone" && column.datetime_precision !== null && column.datetime_precision < 6) return `timestamp(${column.datetime_precision}) with time zone`;
  return column.type;
}

export interface ShapeDifference {
  text: string;
  fix: string;
}

/** How the live table differs from the definition: empty when it fits, null when there is no such table. */
export async function shapeDifferences(client: PostgresClient, destination: PostgresDestination): Promise<ShapeDifference[] | null> {
  const { rows: live } = await client.query<LiveColumn & Record<string, unknown>>(COLUMNS_QUERY, [destination.schema, destination.table]);
  if (live.length === 0) return null;
  const { rows: unique } = await client.query<{ columns: string[] }>(UNIQUE_QUERY, [destination.schema, destination.table]);
  const table = tableName(destination);
  const differences: ShapeDifference[] = [];
  const wanted = tableColumns(destination);
  for (const column of wanted) {
    const found = live.find((entry) => entry.name === column.name);
    if (!found) {
      differences.push({ text: `it has no column ${column.name} (${column.type})`, fix: `ALTER TABLE ${table} ADD COLUMN ${quoted(column.name)} ${column.type};` });
      continue;
    }
    const liveType = typeText(found);
    if (!ACCEPTED[column.type].includes(found.type) || narrows(found)) {
      differences.push({ text: `column ${column.name} is ${liveType}, the definition stores ${column.type}`, fix: `ALTER TABLE ${table} ALTER COLUMN ${quoted(column.name)} TYPE ${column.type} USING ${quoted(column.name)}::${column.type};` });
    }
    if (column.nullable && !found.nullable) {
      differences.push({ text: `column ${column.name} is NOT NULL, but the definition lets it be null`, fix: `ALTER TABLE ${table} ALTER COLUMN ${quoted(column.name)} DROP NOT NULL;` });
    }
  }
  for (const extra of live.filter((entry) => !entry.nullable && !entry.has_default && !wanted.some((column) => column.name === entry.name))) {
    differences.push({ text: `column ${extra.name} is NOT NULL without a default, and the pipeline never writes it`, fix: `ALTER TABLE ${table} ALTER COLUMN ${quoted(extra.name)} DROP NOT NULL;` });
  }
  const key = [...destination.key].sort().join(",");
  if (!unique.some((index) => [...index.columns].sort().join(",") === key)) {
    differences.push({
      text: `it has no primary key or unique index on (${destination.key.join(", ")}), which INSERT … ON CONFLICT needs`,
      fix: `CREATE UNIQUE INDEX IF NOT EXISTS ${quoted(`${destination.table}_pipeline_key`)} ON ${table} (${destination.key.map(quoted).join(", ")});`,
    });
  }
  return differences;
}

/** The problem a load reports for the table, or null when it fits. */
export async function shapeProblem(client: PostgresClient, destination: PostgresDestination, pipeline: string | null): Promise<string | null> {
  const differences = await shapeDifferences(client, destination);
  if (differences === null) {
    const file = `migrations/postgres/${qualified(destination)}.sql`;
    const helper = pipeline ? ` (npm run pipeline -- migration ${pipeline} writes it to ${file}; psql "$DATABASE_URL" -f ${file} runs it)` : "";
    return `PostgreSQL table ${qualified(destination)} does not exist: create it${helper} with:\n${createTableSql(destination).trimEnd()}`;
  }
  if (differences.length === 0) return null;
  return `PostgreSQL table ${qualified(destination)} differs from the pipeline's definition: ${differences.map((difference) => difference.text).join("; ")}. Fix it with:\n${differences.map((difference) => difference.fix).join("\n")}`;
}
