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
}

const COLUMNS_QUERY = `SELECT column_name AS name, data_type AS type, is_nullable = 'YES' AS nullable, column_default IS NOT NULL AS has_default
  FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`;

/** The column lists of the table's unique indexes without a WHERE (each one an ON CONFLICT target). */
const UNIQUE_QUERY = `SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns
  FROM pg_index i
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
  WHERE n.nspname = $1 AND t.relname = $2 AND i.indisunique AND i.indpred IS NULL
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
    if (!ACCEPTED[column.type].includes(found.type)) {
      differences.push({ text: `column ${column.name} is ${found.type}, the definition stores ${column.type}`, fix: `ALTER TABLE ${table} ALTER COLUMN ${quoted(column.name)} TYPE ${column.type} USING ${quoted(column.name)}::${column.type};` });
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
  const helper = pipeline ? `npm run pipeline -- migration ${pipeline} writes it; ` : "";
  if (differences === null) {
    return `PostgreSQL table ${qualified(destination)} does not exist (${helper}create it with:\n${createTableSql(destination)})`;
  }
  if (differences.length === 0) return null;
  return `PostgreSQL table ${qualified(destination)} differs from the pipeline's definition: ${differences.map((difference) => difference.text).join("; ")}. Fix it with:\n${differences.map((difference) => difference.fix).join("\n")}`;
}
