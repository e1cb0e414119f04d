import { MAX_PARAMS } from "../../db/limits";
import { BOOKKEEPING_COLUMNS } from "../../engine/columns";
import { positionOf, valuesOf, type StagedRow } from "../../engine/staged-row";
import type { WriteControl, WrittenChunk } from "../kind";
import type { D1Destination } from "./settings";
import { SHAPE_QUERY, shapeOf, shapeProblem, type ShapeRow, type TableShape } from "./schema-diff";

/**
 * Typed queries against a pipeline's D1 table. Writes are multi-row upserts on the table's key, sent as
 * one batch per `statementsPerBatch` statements (one transaction, one round trip).
 *
 * Rows go into the SQL as literals rather than bound parameters: D1 binds at most 100 parameters a
 * statement (16 rows of a 6-column table), and each statement costs a parse and a round of bookkeeping,
 * so statements of literals load about twice as fast as the plain bound upsert (measured in `npm run bench`). A
 * literal is only ever made from a value this code can quote exactly: a finite number, or text without NUL
 * and under MAX_LITERAL_CHARS (quotes doubled, which is all SQLite's string syntax has). Anything else is
 * bound, as are the run's values that never change (`?` never appears in a literal).
 *
 * Up to 400 rows a statement: each statement costs D1 a fixed round of work (its result converted and
 * metered), and in `npm run bench`'s sweep of the plain literal upsert 200 rows a statement was about a
 * fifth faster than 100, 400 faster again where it fits; a statement ends sooner at MAX_SQL_BYTES.
 */

export const MAX_ROWS_PER_STATEMENT = 400;
/** D1 refuses a statement longer than 100 KB; a row's text counts as three bytes a character unless it is ASCII. */
const MAX_SQL_BYTES = 90_000;
const NOT_ASCII = /[^\x00-\x7f]/;
/** Longer text is bound rather than written into the statement. */
export const MAX_LITERAL_CHARS = 2_048;

type SqlValue = string | number | null;

const quoteName = (name: string) => `"${name}"`;
const RUN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A run id as an SQL literal. Run ids are ours (manual-…, scheduled-…); anything else is refused, not quoted. */
function runIdLiteral(runId: string): string {
  if (!RUN_ID.test(runId)) throw new Error(`run id ${JSON.stringify(runId)} is not one the engine makes`);
  return `'${runId}'`;
}

/** The value as an SQL literal, or null when it is to be bound instead. */
export function sqlLiteral(value: unknown): string | null {
  if (value === null) return "NULL";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : null;
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "string" && value.length <= MAX_LITERAL_CHARS && !value.includes("\0")) return `'${value.replaceAll("'", "''")}'`;
  return null;
}

/**
 * `INSERT … SELECT … FROM (VALUES …)`: each row is its values and its position; the run id and load time
 * appear once. The parts that do not change are built once per chunk.
 */
class UpsertWriter {
  private readonly head: string;
  private readonly tail: string;

  constructor(
    private readonly db: D1Database,
    destination: D1Destination,
    runId: string,
    loadedAt: number,
    onlyNew: boolean,
  ) {
    const own = destination.columns.map((column) => column.name);
    const names = [...own, ...BOOKKEEPING_COLUMNS];
    const picked = own.map((_, index) => `column${index + 1}`).join(",");
    const updates = names.filter((name) => !destination.key.includes(name)).map((name) => `${quoteName(name)}=excluded.${quoteName(name)}`);
    const table = quoteName(destination.table);
    // A row is only rewritten by another run, or by this very record again (a retried load): a record whose
    // key an earlier record of the same run took is left out, and the statement's change count shows it.
    const guard = onlyNew ? ` WHERE ${table}.run_id IS NOT excluded.run_id OR ${table}.position IS excluded.position` : "";
    this.head = `INSERT INTO ${table} (${names.map(quoteName).join(",")}) SELECT ${picked},${runIdLiteral(runId)},${Math.trunc(loadedAt)},column${own.length + 1} FROM (VALUES `;
    // "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the upsert, not to the SELECT's join.
    this.tail = `) WHERE true ON CONFLICT (${destination.key.map(quoteName).join(",")}) DO UPDATE SET ${updates.join(",")}${guard}`;
  }

  statements(rows: readonly StagedRow[]): Statement[] {
    const prepared: Statement[] = [];
    let start = 0;
    while (start < rows.length) {
      let sql = this.head;
      let bytes = this.head.length + this.tail.length;
      const params: SqlValue[] = [];
      let end = start;
      for (; end < rows.length && end - start < MAX_ROWS_PER_STATEMENT; end += 1) {
        const row = rows[end]!;
        let tuple = end === start ? "(" : ",(";
        const bound: SqlValue[] = [];
        for (let column = 2; column < row.length; column += 1) {
          const literal = sqlLiteral(row[column]);
          if (literal === null) {
            tuple += "?,";
            bound.push(row[column] as SqlValue);
          } else {
            tuple += `${literal},`;
          }
        }
        tuple += `${Math.trunc(positionOf(row))})`;
        let tupleBytes = NOT_ASCII.test(tuple) ? tuple.length * 3 : tuple.length;
        if (end === start && bytes + tupleBytes > MAX_SQL_BYTES) {
          // A row too wide for one statement as literals goes alone, every value bound.
          tuple = `(${row.slice(2).map(() => "?").join(",")},${Math.trunc(positionOf(row))})`;
          bound.splice(0, bound.length, ...(row.slice(2) as SqlValue[]));
          tupleBytes = tuple.length;
        }
        if (end > start && (bytes + tupleBytes > MAX_SQL_BYTES || params.length + bound.length > MAX_PARAMS)) break;
        sql += tuple;
        bytes += tupleBytes;
        params.push(...bound);
      }
      const statement = this.db.prepare(sql + this.tail);
      prepared.push({ prepared: params.length > 0 ? statement.bind(...params) : statement, rows: rows.slice(start, end) });
      start = end;
    }
    return prepared;
  }
}

interface Statement {
  prepared: D1PreparedStatement;
  rows: readonly StagedRow[];
}

function statements(db: D1Database, destination: D1Destination, rows: readonly StagedRow[], runId: string, loadedAt: number, onlyNew: boolean): Statement[] {
  return new UpsertWriter(db, destination, runId, loadedAt, onlyNew).statements(rows);
}

/** How a load goes (see WriteControl); companions ride in the first batch. */
export type LoadControl = WriteControl;

/**
 * Sends the statements `statementsPerBatch` at a time, the companions with the first batch (alone when
 * there are no statements), and calls `each` with every batch's statements and their results, in order.
 * Each batch is one transaction: when a batch fails or the signal stops the load, every batch before it is
 * written and nothing of it or after it is.
 */
async function sendBatches(
  db: D1Database,
  prepared: readonly Statement[],
  control: LoadControl,
  each: (sent: readonly Statement[], results: D1Result[]) => void = () => undefined,
): Promise<void> {
  const companions = control.companions ?? [];
  if (prepared.length === 0 && companions.length > 0) await db.batch(companions);
  for (let start = 0; start < prepared.length; start += control.statementsPerBatch) {
    control.signal?.throwIfAborted();
    const sent = prepared.slice(start, start + control.statementsPerBatch);
    const results = await db.batch([...sent.map((statement) => statement.prepared), ...(start === 0 ? companions : [])]);
    each(sent, results);
    await control.written?.(sent.reduce((sum, _, index) => sum + results[index]!.meta.changes, 0));
  }
}

/** Upserts rows; a later record with the same key replaces an earlier one ("last-wins"). */
export async function upsertRows(db: D1Database, destination: D1Destination, runId: string, rows: readonly StagedRow[], loadedAt: number, control: LoadControl): Promise<number> {
  await sendBatches(db, statements(db, destination, rows, runId, loadedAt, false), control);
  return rows.length;
}

export type LoadedChunk = WrittenChunk;

/**
 * Upserts a chunk of a run's rows and finds duplicate keys on the way, in D1 itself ("reject": the first
 * wins). Rows must arrive in position order. A guarded upsert leaves a row alone when an earlier record
 * of this run holds its key, so a statement that changed fewer rows than it carried held a duplicate;
 * only those statements' rows are looked up by key afterwards. Exact, and needs no memory or storage of
 * its own; a chunk without duplicates costs what a plain upsert does.
 */
export async function loadRowsOnce(db: D1Database, destination: D1Destination, runId: string, rows: readonly StagedRow[], loadedAt: number, control: LoadControl): Promise<LoadedChunk> {
  const suspects: { rows: readonly StagedRow[]; refused: number }[] = [];
  await sendBatches(db, statements(db, destination, rows, runId, loadedAt, true), control, (sent, results) => {
    sent.forEach((statement, index) => {
      const refused = statement.rows.length - results[index]!.meta.changes;
      if (refused > 0) suspects.push({ rows: statement.rows, refused });
    });
  });
  if (suspects.length === 0) return { loaded: rows.length, duplicates: [] };
  const holders = await keyHolders(db, destination, suspects.flatMap((suspect) => suspect.rows));
  const duplicates: LoadedChunk["duplicates"] = [];
  for (const suspect of suspects) {
    const found = suspect.rows.flatMap((row) => {
      const holder = holders.get(keyText(destination, row));
      return holder && holder.runId === runId && holder.position !== positionOf(row) ? [{ row, first: holder.position }] : [];
    });
    // Every row D1 left alone must be a named duplicate; anything else would be a record lost unseen
    // (a key that reads back differently, say), so the load fails rather than guess.
    if (found.length !== suspect.refused) {
      throw new Error(`D1 left ${suspect.refused} row(s) of a statement unwritten, but ${found.length} of them are duplicates of this run; the key columns may read back differently than they were written`);
    }
    duplicates.push(...found);
  }
  return { loaded: rows.length - duplicates.length, duplicates };
}

/** Which run, and which of its records, holds each of these rows' keys now. */
async function keyHolders(db: D1Database, destination: D1Destination, rows: readonly StagedRow[]): Promise<Map<string, { runId: string; position: number }>> {
  const keyIndexes = destination.key.map((name) => destination.columns.findIndex((column) => column.name === name));
  const keys = [...new Map(rows.map((row) => [keyText(destination, row), keyIndexes.map((index) => valuesOf(row)[index] as SqlValue)])).values()];
  const perStatement = Math.floor(MAX_PARAMS / keyIndexes.length);
  const tuple = destination.key.length === 1 ? quoteName(destination.key[0]!) : `(${destination.key.map(quoteName).join(", ")})`;
  const holders = new Map<string, { runId: string; position: number }>();
  for (let start = 0; start < keys.length; start += perStatement) {
    const slice = keys.slice(start, start + perStatement);
    const list = destination.key.length === 1 ? slice.map(() => "?").join(", ") : `VALUES ${slice.map((key) => `(${key.map(() => "?").join(", ")})`).join(", ")}`;
    const found = await db
      .prepare(`SELECT run_id, position, ${destination.key.map(quoteName).join(", ")} FROM ${quoteName(destination.table)} WHERE ${tuple} IN (${list})`)
      .bind(...slice.flat())
      .all<Record<string, SqlValue>>();
    for (const row of found.results) holders.set(JSON.stringify(destination.key.map((name) => row[name])), { runId: row.run_id as string, position: row.position as number });
  }
  return holders;
}

function keyText(destination: D1Destination, row: StagedRow): string {
  return JSON.stringify(destination.key.map((name) => valuesOf(row)[destination.columns.findIndex((column) => column.name === name)]));
}

/**
 * How many rows of the table this run wrote, counted in the table itself: what a failed or cancelled run
 * reports as loaded, whichever attempt, shard or batch the rows came from. Not indexed (it is only asked
 * when a run ends without succeeding), so it reads the whole table.
 */
export async function rowsOfRun(db: D1Database, destination: D1Destination, runId: string): Promise<number> {
  const found = await db.prepare(`SELECT COUNT(*) AS n FROM ${quoteName(destination.table)} WHERE run_id = ?`).bind(runId).first<{ n: number }>();
  return found?.n ?? 0;
}

/** The table as it is now (columns, its statement, its indexes'), in one round trip. */
export async function tableShape(db: D1Database, table: string): Promise<TableShape> {
  const found = await db.prepare(SHAPE_QUERY).bind(table, table).all<ShapeRow>();
  return shapeOf(table, found.results);
}

/**
 * Compares the destination table's shape (columns, types, nullability, primary key) with the pipeline's
 * definition, so a table that differs fails the load before its first row with a message that names each
 * difference and gives the SQL that puts it right (schema-diff.ts), rather than with SQLite's error half
 * way through. D1 applies a migration once: a table dropped after its migration ran is not created again
 * by `db:migrate`, so the message gives the SQL to run when the migrations are already recorded as applied.
 */
export async function tableProblem(db: D1Database, destination: D1Destination, pipeline: string | null = null): Promise<string | null> {
  const shape = await tableShape(db, destination.table);
  if (shape.columns.length > 0) return shapeProblem(destination, shape, pipeline);
  return shapeProblem(destination, shape, pipeline, await appliedMigrations(db));
}

/** What D1's migration ledger says has been applied (none when the ledger itself is missing). */
async function appliedMigrations(db: D1Database): Promise<{ count: number; newest: string | null }> {
  try {
    const rows = await db.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>();
    return { count: rows.results.length, newest: rows.results.at(-1)?.name ?? null };
  } catch {
    return { count: 0, newest: null };
  }
}
