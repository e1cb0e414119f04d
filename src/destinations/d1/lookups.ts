import { MAX_PARAMS } from "../../db/limits";
import type { TableLookups } from "../../engine/check-pass";
import { valueKey } from "../../engine/check-tally";

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

export function d1Lookups(db: D1Database): TableLookups {
  return {
    tuplesPerLookup: (columns) => Math.max(1, Math.floor(MAX_PARAMS / (columns + 1))),
    async present(table, columns, tuples) {
      if (tuples.length === 0) return [];
      const { values, params, match } = page(columns, tuples);
      const found = await db.prepare(`SELECT v.column1 FROM ${values} WHERE EXISTS (SELECT 1 FROM ${quoted(table)} AS t WHERE ${match})`).bind(...params).raw();
      return found.map((row) => Number(row[0]));
    },
    async holders(table, columns, key, tuples) {
      if (tuples.length === 0) return [];
      const { values, params, match } = page(columns, tuples);
      const found = await db.prepare(`SELECT DISTINCT v.column1, ${key.map((column) => `t.${quoted(column)}`).join(",")} FROM ${values} JOIN ${quoted(table)} AS t ON ${match}`).bind(...params).raw();
      return found.map((row) => ({ index: Number(row[0]), key: valueKey(row.slice(1)) }));
    },
  };
}
