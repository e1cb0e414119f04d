import { MAX_PARAMS } from "../../db/limits";
import type { TableLookups } from "../../engine/check-pass";
import { valueKey } from "../../engine/check-tally";

/**
 * A D1 table read for dataset checks: which of a page of value tuples some row holds (a relationship's
 * target), and which rows hold them under which key (unique against the table). One statement a page,
 * its values bound (D1 binds at most 100 a statement), row values compared as SQLite compares them.
 */
const quoted = (name: string) => `"${name}"`;

function tupleFilter(columns: readonly string[], tuples: readonly unknown[][]): { where: string; params: unknown[] } {
  if (columns.length === 1) return { where: `${quoted(columns[0]!)} IN (${tuples.map(() => "?").join(",")})`, params: tuples.map((tuple) => tuple[0]) };
  const row = `(${columns.map(() => "?").join(",")})`;
  return { where: `(${columns.map(quoted).join(",")}) IN (VALUES ${tuples.map(() => row).join(",")})`, params: tuples.flat() };
}

export function d1Lookups(db: D1Database): TableLookups {
  return {
    tuplesPerLookup: (columns) => Math.max(1, Math.floor(MAX_PARAMS / Math.max(1, columns))),
    async present(table, columns, tuples) {
      if (tuples.length === 0) return [];
      const { where, params } = tupleFilter(columns, tuples);
      const found = await db.prepare(`SELECT DISTINCT ${columns.map(quoted).join(",")} FROM ${quoted(table)} WHERE ${where}`).bind(...params).raw();
      return found.map((row) => valueKey(row));
    },
    async holders(table, columns, key, tuples) {
      if (tuples.length === 0) return [];
      const { where, params } = tupleFilter(columns, tuples);
      const found = await db.prepare(`SELECT ${[...columns, ...key].map(quoted).join(",")} FROM ${quoted(table)} WHERE ${where}`).bind(...params).raw();
      return found.map((row) => ({ value: valueKey(row.slice(0, columns.length)), key: valueKey(row.slice(columns.length)) }));
    },
  };
}
