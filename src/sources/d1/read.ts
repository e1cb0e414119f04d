import { StageFailure } from "../../domain/failures";
import type { SourceReadContext, SourceRead } from "../kind";
import type { SourceItem } from "../source-items";
import type { BoundValue, D1Source } from "./config";

type SqlValue = string | number | null;

/** The query's values in order, from the run: slot values, params, the watermark, constants. */
export function boundValues(source: D1Source, context: Pick<SourceReadContext, "slot" | "params" | "watermark" | "runValues">): SqlValue[] {
  return source.params.map((reference: BoundValue) => {
    if (typeof reference !== "string") return reference.value;
    // An epoch-ms watermark is bound as the number it is, so it compares with an integer column as one.
    if (reference === "watermark") return context.watermark === null ? null : /^-?\d+$/.test(context.watermark.value) ? Number(context.watermark.value) : context.watermark.value;
    if (reference === "slot.epochMs") return context.slot.asOf;
    if (reference.startsWith("params.")) return sqlValue(context.params[reference.slice("params.".length)]);
    return context.runValues[reference] ?? null;
  });
}

function sqlValue(value: unknown): SqlValue {
  if (value === undefined || value === null) return null;
  if (typeof value === "number" || typeof value === "string") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  return JSON.stringify(value);
}

const quoted = (name: string) => `"${name}"`;

/**
 * The query wrapped for one page: ordered by the keyset columns, starting at the last row read (`>=`, so
 * a repeat of it proves the columns are unique there), limited. A newline closes the query so a trailing
 * comment cannot swallow the wrapper.
 */
export function pageSql(source: D1Source, after: boolean): string {
  // BINARY: ordered and compared as this code compares them, whatever collation the columns declare.
  const order = source.pageBy.map((column) => `${quoted(column)} COLLATE BINARY`).join(", ");
  const start = source.params.length + 1;
  const from = after ? ` WHERE (${order}) >= (${source.pageBy.map((_, index) => `?${start + index}`).join(", ")})` : "";
  const limit = `?${start + (after ? source.pageBy.length : 0)}`;
  return `SELECT * FROM (\n${source.query}\n) AS page${from} ORDER BY ${order} LIMIT ${limit}`;
}

/**
 * Reads the query page by page. Each page is `pageRows` rows (plus the repeat of the last one), so no
 * answer outgrows D1's limits however large the result. Fails, rather than skip rows, when a keyset
 * column is null (rows with it could not be paged past) or repeats (rows sharing it at a page edge could
 * be lost), and when the database reports rows written (the query was not a read after all).
 */
export async function* readD1Source(source: D1Source, context: SourceReadContext): AsyncGenerator<SourceItem[], SourceRead> {
  const db = context.env[source.database] as D1Database | undefined;
  if (!db || typeof (db as { prepare?: unknown }).prepare !== "function") throw new StageFailure(`source ${source.name}: the Worker has no D1 binding ${source.database}`, "permanent");
  const values = boundValues(source, context);
  let last: SqlValue[] | null = null;
  let pages = 0;
  for (;;) {
    context.signal.throwIfAborted();
    const sql = pageSql(source, last !== null);
    const limit = last === null ? source.pageRows : source.pageRows + 1;
    let answer: D1Result<Record<string, unknown>>;
    try {
      answer = await db.prepare(sql).bind(...values, ...(last ?? []), limit).all<Record<string, unknown>>();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A query D1 cannot run will not run on a second try either; a lost connection might.
      const permanent = /SQLITE_ERROR|no such (table|column)|syntax error|SQLITE_AUTH|not authorized/i.test(message);
      throw new StageFailure(`source ${source.name}: D1 query failed: ${message}`, permanent ? "permanent" : "transient");
    }
    pages += 1;
    if ((answer.meta?.rows_written ?? 0) > 0 || (answer.meta?.changes ?? 0) > 0) {
      throw new StageFailure(`source ${source.name}: the query wrote to the database (${answer.meta.rows_written ?? answer.meta.changes} rows); a source query must only read`, "permanent");
    }
    let rows = answer.results;
    if (last !== null) {
      const repeats = rows.filter((row) => sameKey(keyOf(source, row), last!));
      if (repeats.length !== 1) {
        throw new StageFailure(
          repeats.length === 0
            ? `source ${source.name}: the last row read (${source.pageBy.join(", ")} = ${JSON.stringify(last)}) is gone from the result between pages; read again`
            : `source ${source.name}: ${source.pageBy.join(", ")} = ${JSON.stringify(last)} is not unique in the result; pageBy must name columns that are`,
          repeats.length === 0 ? "transient" : "permanent",
        );
      }
      rows = rows.filter((row) => !sameKey(keyOf(source, row), last!));
    }
    let previous = last;
    for (const row of rows) {
      const key = keyOf(source, row);
      const missing = source.pageBy.find((column, index) => key[index] === null || !(column in row));
      if (missing) throw new StageFailure(`source ${source.name}: a row has no value in ${missing}, a pageBy column (${JSON.stringify(row).slice(0, 200)}); keyset paging cannot page past it`, "permanent");
      const inexact = source.pageBy.find((_, index) => typeof key[index] === "number" && Number.isInteger(key[index]) && !Number.isSafeInteger(key[index]));
      if (inexact) {
        throw new StageFailure(
          `source ${source.name}: pageBy column ${inexact} holds an integer beyond 2^53 (${row[inexact]}), which D1 returns rounded, so pages could not start exactly after it; page by it as text (SELECT CAST(${inexact} AS TEXT) AS ${inexact}_text …)`,
          "permanent",
        );
      }
      if (previous !== null && sameKey(key, previous)) throw new StageFailure(`source ${source.name}: ${source.pageBy.join(", ")} = ${JSON.stringify(key)} is not unique in the result; pageBy must name columns that are`, "permanent");
      previous = key;
    }
    if (rows.length > 0) yield rows.map((record) => ({ ok: true, record }));
    if (rows.length < source.pageRows) return { pages, truncated: false, firstUrl: null };
    last = keyOf(source, rows.at(-1)!);
  }
}

function keyOf(source: D1Source, row: Record<string, unknown>): SqlValue[] {
  return source.pageBy.map((column) => (row[column] ?? null) as SqlValue);
}

function sameKey(a: readonly SqlValue[], b: readonly SqlValue[]): boolean {
  return a.every((value, index) => value === b[index]);
}
