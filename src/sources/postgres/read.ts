import { StageFailure } from "../../domain/failures";
import type { SourceRead, SourceReadContext } from "../kind";
import type { SourceItem } from "../source-items";
import { hyperdriveOf, openClient } from "./client";
import type { BoundValue, PostgresSource } from "./config";

type Bound = string | number | boolean | null;

/** The query's values in order, from the run: slot values, params, the watermark, constants. */
export function boundValues(source: PostgresSource, context: Pick<SourceReadContext, "slot" | "params" | "watermark" | "runValues">): Bound[] {
  return source.params.map((reference: BoundValue) => {
    if (typeof reference !== "string") return reference.value;
    // Sent as text either way: the server reads it as the type of what it is compared with.
    if (reference === "watermark") return context.watermark?.value ?? null;
    if (reference === "slot.epochMs") return context.slot.asOf;
    if (reference.startsWith("params.")) return boundParam(context.params[reference.slice("params.".length)]);
    return context.runValues[reference] ?? null;
  });
}

function boundParam(value: unknown): Bound {
  if (value === undefined || value === null) return null;
  if (typeof value === "number" || typeof value === "string" || typeof value === "boolean") return value;
  return JSON.stringify(value);
}

const quoted = (name: string) => `"${name}"`;

/** Columns the page query adds, taken off every record: whether the server sees the row equal to the last one read, or to the row before it. */
const REPEAT = "__pipeline_repeat";
const SAME = "__pipeline_same";

/**
 * The query wrapped for one page: ordered by the cursor columns (nulls first, so a null is met, and
 * refused, before any row after it), starting at the last row read (`>=`, so its repeat proves the
 * columns are unique there), limited. Equality is the server's (numeric 1.0 = 1.00, a case-insensitive
 * collation), not the text the values come back as. A newline closes the query so a trailing comment
 * cannot swallow the wrapper.
 */
export function pageSql(source: PostgresSource, after: boolean): string {
  const row = `ROW(${source.cursor.map(quoted).join(", ")})`;
  const order = source.cursor.map((column) => `${quoted(column)} NULLS FIRST`).join(", ");
  const start = source.params.length + 1;
  const last = `ROW(${source.cursor.map((_, index) => `$${start + index}`).join(", ")})`;
  const from = after ? ` WHERE ${row} >= ${last}` : "";
  const limit = `$${start + (after ? source.cursor.length : 0)}`;
  const repeat = after ? `(${row} = ${last})` : "false";
  return `SELECT *, ${repeat} AS "${REPEAT}", (lag(${row}) OVER (ORDER BY ${order}) = ${row}) AS "${SAME}" FROM (\n${source.query}\n) AS page${from} ORDER BY ${order} LIMIT ${limit}`;
}

/**
 * Reads the query page by page in one READ ONLY, REPEATABLE READ transaction: every page sees the same
 * snapshot, and the server refuses anything that writes. Fails, rather than skip rows, when a cursor
 * column is null (rows with it could not be paged past) or repeats (rows sharing it at a page edge could
 * be lost).
 */
export async function* readPostgresSource(source: PostgresSource, context: SourceReadContext): AsyncGenerator<SourceItem[], SourceRead> {
  const hyperdrive = hyperdriveOf(context.env, source.hyperdrive);
  const values = boundValues(source, context);
  const client = await openClient(hyperdrive, { applicationName: `pipeline ${context.pipeline} extract`, timeoutMs: source.timeoutMs, connectWaitMs: source.connectWaitMs, signal: context.signal, doing: `reading source ${source.name}` });
  // A stop between pages may leave this generator suspended, never finished: the connection (and the
  // snapshot it holds) goes with the stop, not with the generator.
  const close = () => void client.close();
  context.signal.addEventListener("abort", close, { once: true });
  let pages = 0;
  try {
    await client.begin("read only");
    let last: unknown[] | null = null;
    for (;;) {
      context.signal.throwIfAborted();
      const limit = last === null ? source.pageRows : source.pageRows + 1;
      const { rows: answer } = await client.query(pageSql(source, last !== null), [...values, ...(last ?? []), limit]);
      pages += 1;
      const rows = pageRows(source, answer, last);
      if (rows.length > 0) yield rows.map((record) => ({ ok: true, record }));
      if (rows.length < source.pageRows) break;
      last = keyOf(source, rows.at(-1)!);
    }
    await client.commit();
  } finally {
    context.signal.removeEventListener("abort", close);
    // Closing the connection ends a transaction left open (a stopped read) by rolling it back.
    await client.close();
  }
  return { pages, truncated: false, firstUrl: null };
}

/** A page's rows after the repeat of the last one, checked: cursor values present and unique, as the server compares them. */
function pageRows(source: PostgresSource, answer: Record<string, unknown>[], last: unknown[] | null): Record<string, unknown>[] {
  let rows = answer;
  if (last !== null) {
    const repeats = rows.filter((row) => row[REPEAT] === true).length;
    if (repeats !== 1 || rows[0]?.[REPEAT] !== true) {
      throw new StageFailure(
        repeats === 0
          ? `source ${source.name}: the last row read (${source.cursor.join(", ")} = ${JSON.stringify(last)}) did not come back as the next page's first; the cursor columns must compare equal to themselves when bound back (text, integers, timestamps, uuid)`
          : `source ${source.name}: ${source.cursor.join(", ")} = ${JSON.stringify(last)} is not unique in the result; cursor must name columns that are`,
        "permanent",
      );
    }
    rows = rows.slice(1);
  }
  return rows.map((row) => {
    const key = keyOf(source, row);
    const missing = source.cursor.find((column, index) => key[index] === null || key[index] === undefined || !(column in row));
    if (missing) throw new StageFailure(`source ${source.name}: a row has no value in ${missing}, a cursor column (${JSON.stringify(row).slice(0, 200)}); keyset paging cannot page past it`, "permanent");
    if (row[SAME] === true) throw new StageFailure(`source ${source.name}: ${source.cursor.join(", ")} = ${JSON.stringify(key)} is not unique in the result; cursor must name columns that are`, "permanent");
    const { [REPEAT]: _repeat, [SAME]: _same, ...record } = row;
    return record;
  });
}

function keyOf(source: PostgresSource, row: Record<string, unknown>): unknown[] {
  return source.cursor.map((column) => row[column] ?? null);
}
