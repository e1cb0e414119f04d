import { BOOKKEEPING_COLUMNS } from "../engine/columns";
import type { DestinationSettings } from "../engine/settings";
import { positionOf, valuesOf, type StagedRow } from "../engine/staged-row";

/**
 * Typed queries against a pipeline's D1 table. Writes are multi-row upserts on the table's key, packed
 * up to D1's limit of 100 bound parameters per statement and sent as one batch per `statementsPerBatch`
 * statements (one transaction, one round trip).
 *
 * Only the pipeline's own columns are bound: the engine's bookkeeping (run id, load time, position) is
 * written as SQL literals, values this code makes itself (an integer, a checked run id), so a statement
 * holds as many rows as the plain upsert of the same columns would.
 */

export const MAX_PARAMS = 100;

type SqlValue = string | number | null;

/** How many rows fit in one statement: one bound parameter per column of the pipeline's own. */
export function rowsPerStatement(destination: DestinationSettings): number {
  return Math.max(1, Math.floor(MAX_PARAMS / destination.columns.length));
}

const quoteName = (name: string) => `"${name}"`;
const RUN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A run id as an SQL literal. Run ids are ours (manual-…, scheduled-…); anything else is refused, not quoted. */
function runIdLiteral(runId: string): string {
  if (!RUN_ID.test(runId)) throw new Error(`run id ${JSON.stringify(runId)} is not one the engine makes`);
  return `'${runId}'`;
}

/**
 * `INSERT … SELECT … FROM (VALUES …)`: each row is its bound values and its position; the run id and load
 * time appear once. Every byte of SQL is serialised by the D1 client and parsed by D1 per statement, and
 * this keeps a statement about as short as the plain upsert's.
 */
function upsertSql(destination: DestinationSettings, rows: readonly StagedRow[], runId: string, loadedAt: number, onlyNew: boolean): string {
  const own = destination.columns.map((column) => column.name);
  const names = [...own, ...BOOKKEEPING_COLUMNS];
  const row = `(${own.map(() => "?").join(",")},`;
  let values = "";
  for (const staged of rows) values += `${values === "" ? "" : ","}${row}${Math.trunc(positionOf(staged))})`;
  const picked = own.map((_, index) => `column${index + 1}`).join(",");
  const updates = names.filter((name) => !destination.key.includes(name)).map((name) => `${quoteName(name)}=excluded.${quoteName(name)}`);
  // A row is only rewritten by another run, or by this very record again (a retried load): a record whose
  // key an earlier record of the same run took is left out, and the statement's change count shows it.
  const table = quoteName(destination.table);
  const guard = onlyNew ? ` WHERE ${table}.run_id IS NOT excluded.run_id OR ${table}.position IS excluded.position` : "";
  // "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the upsert, not to the SELECT's join.
  return (
    `INSERT INTO ${table} (${names.map(quoteName).join(",")}) SELECT ${picked},${runIdLiteral(runId)},${Math.trunc(loadedAt)},column${own.length + 1} FROM (VALUES ${values}) WHERE true ` +
    `ON CONFLICT (${destination.key.map(quoteName).join(",")}) DO UPDATE SET ${updates.join(",")}${guard}`
  );
}

function bindings(rows: readonly StagedRow[]): SqlValue[] {
  const values: SqlValue[] = [];
  for (const row of rows) for (let index = 2; index < row.length; index += 1) values.push(row[index] as SqlValue);
  return values;
}

interface Statement {
  prepared: D1PreparedStatement;
  rows: readonly StagedRow[];
}

function statements(db: D1Database, destination: DestinationSettings, rows: readonly StagedRow[], runId: string, loadedAt: number, onlyNew: boolean): Statement[] {
  const perStatement = rowsPerStatement(destination);
  const prepared: Statement[] = [];
  for (let start = 0; start < rows.length; start += perStatement) {
    const slice = rows.slice(start, start + perStatement);
    prepared.push({ prepared: db.prepare(upsertSql(destination, slice, runId, loadedAt, onlyNew)).bind(...bindings(slice)), rows: slice });
  }
  return prepared;
}

/**
 * Statements that ride along in the first batch of a load (a run's rejected records): a small run writes
 * its rows and its rejections in one round trip and one transaction.
 */
export type Companions = D1PreparedStatement[];

/** Upserts rows; a later record with the same key replaces an earlier one ("last-wins"). */
export async function upsertRows(
  db: D1Database,
  destination: DestinationSettings,
  runId: string,
  rows: readonly StagedRow[],
  loadedAt: number,
  statementsPerBatch: number,
  companions: Companions = [],
): Promise<number> {
  const prepared = statements(db, destination, rows, runId, loadedAt, false).map((statement) => statement.prepared);
  if (prepared.length === 0 && companions.length > 0) await db.batch(companions);
  for (let start = 0; start < prepared.length; start += statementsPerBatch) {
    await db.batch(start === 0 ? [...prepared.slice(0, statementsPerBatch), ...companions] : prepared.slice(start, start + statementsPerBatch));
  }
  return rows.length;
}

export interface LoadedChunk {
  loaded: number;
  /** Rows whose key an earlier record of the same run already took, with that record's position. */
  duplicates: { row: StagedRow; first: number }[];
}

/**
 * Upserts a chunk of a run's rows and finds duplicate keys on the way, in D1 itself ("reject": the first
 * wins). Rows must arrive in position order. A guarded upsert leaves a row alone when an earlier record
 * of this run holds its key, so a statement that changed fewer rows than it carried held a duplicate;
 * only those statements' rows are looked up by key afterwards. Exact, and needs no memory or storage of
 * its own; a chunk without duplicates costs what a plain upsert does.
 */
export async function loadRowsOnce(
  db: D1Database,
  destination: DestinationSettings,
  runId: string,
  rows: readonly StagedRow[],
  loadedAt: number,
  statementsPerBatch: number,
  companions: Companions = [],
): Promise<LoadedChunk> {
  const prepared = statements(db, destination, rows, runId, loadedAt, true);
  if (prepared.length === 0 && companions.length > 0) await db.batch(companions);
  const suspects: StagedRow[] = [];
  for (let start = 0; start < prepared.length; start += statementsPerBatch) {
    const slice = prepared.slice(start, start + statementsPerBatch);
    const results = await db.batch([...slice.map((statement) => statement.prepared), ...(start === 0 ? companions : [])]);
    slice.forEach((statement, index) => {
      if (results[index]!.meta.changes < statement.rows.length) suspects.push(...statement.rows);
    });
  }
  if (suspects.length === 0) return { loaded: rows.length, duplicates: [] };
  const holders = await keyHolders(db, destination, suspects);
  const duplicates: LoadedChunk["duplicates"] = [];
  for (const row of suspects) {
    const holder = holders.get(keyText(destination, row));
    if (holder && holder.runId === runId && holder.position !== positionOf(row)) duplicates.push({ row, first: holder.position });
  }
  return { loaded: rows.length - duplicates.length, duplicates };
}

/** Which run, and which of its records, holds each of these rows' keys now. */
async function keyHolders(db: D1Database, destination: DestinationSettings, rows: readonly StagedRow[]): Promise<Map<string, { runId: string; position: number }>> {
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

function keyText(destination: DestinationSettings, row: StagedRow): string {
  return JSON.stringify(destination.key.map((name) => valuesOf(row)[destination.columns.findIndex((column) => column.name === name)]));
}

/**
 * Checks that the destination table has the columns the pipeline declares, so a missing migration fails
 * the run with a message that says so, rather than with SQLite's.
 */
export async function tableProblem(db: D1Database, destination: DestinationSettings): Promise<string | null> {
  const found = await db.prepare(`SELECT name FROM pragma_table_info(?)`).bind(destination.table).all<{ name: string }>();
  const have = new Set(found.results.map((row) => row.name));
  if (have.size === 0) return `the D1 table ${destination.table} does not exist; add a migration that creates it (migrations/) and apply it (npm run db:migrate:local, or npm run deploy)`;
  const missing = [...destination.columns.map((column) => column.name), ...BOOKKEEPING_COLUMNS].filter((name) => !have.has(name));
  if (missing.length > 0) return `the D1 table ${destination.table} has no column ${missing.join(", ")}; add a migration for ${missing.length === 1 ? "it" : "them"}`;
  return null;
}

