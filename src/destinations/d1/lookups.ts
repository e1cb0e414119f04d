import { MAX_PARAMS } from "../../db/limits";
import type { TableLookups } from "../../engine/check-pass";
import { valueKey } from "../../engine/check-tally";
import { StageFailure } from "../../domain/failures";

/**
 * A D1 table read for dataset checks: which of a page of value tuples some row holds (a relationship's
 * target), and which rows hold them under which key (unique against the table). One statement a page,
 * its values bound (D1 binds at most 100 a statement), row values compared as SQLite compares them.
 */
const quoted = (name: string) => `"${name}"`;

/**
 * The page as a VALUES list, each tuple with its index first (`column1`), its values after: a table row
 * matches a tuple when SQLite says its columns equal the values (the columns' affinity and collation
 * applied), so the answer names indexes and nothing is compared again here.
 */
function page(columns: readonly string[], tuples: readonly unknown[][]): { values: string; params: unknown[]; match: string } {
  const row = `(?${",?".repeat(columns.length)})`;
  const match = columns.map((column, at) => `t.${quoted(column)} = v.column${at + 2}`).join(" AND ");
  return { values: `(VALUES ${tuples.map(() => row).join(",")}) AS v`, params: tuples.flatMap((tuple, index) => [index, ...tuple]), match };
}

/** A page read; a table or column that is not there is the definition's mistake, said so, not retried. */
async function read(db: D1Database, sql: string, params: unknown[], table: string): Promise<unknown[][]> {
  try {
    return await db.prepare(sql).bind(...params).raw();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/no such (table|column)/i.test(message)) throw new StageFailure(`a dataset check looks values up in the D1 table ${table}, which ${/no such table/i.test(message) ? "does not exist" : `has no such column (${message.replace(/^.*no such column:\s*/i, "").slice(0, 80)})`}`, "permanent");
    throw error;
  }
}

export function d1Lookups(db: D1Database): TableLookups {
  return {
    tuplesPerLookup: (columns) => Math.max(1, Math.floor(MAX_PARAMS / (columns + 1))),
    async present(table, columns, tuples) {
      if (tuples.length === 0) return [];
      const { values, params, match } = page(columns, tuples);
      const found = await read(db, `SELECT v.column1 FROM ${values} WHERE EXISTS (SELECT 1 FROM ${quoted(table)} AS t WHERE ${match})`, params, table);
      return found.map((row) => Number(row[0]));
    },
    async holders(table, columns, key, tuples) {
      if (tuples.length === 0) return [];
      const { values, params, match } = page(columns, tuples);
      const found = await read(db, `SELECT DISTINCT v.column1, ${key.map((column) => `t.${quoted(column)}`).join(",")} FROM ${values} JOIN ${quoted(table)} AS t ON ${match}`, params, table);
      return found.map((row) => ({ index: Number(row[0]), key: valueKey(row.slice(1)) }));
    },
  };
}
