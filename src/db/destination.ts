import { BOOKKEEPING_COLUMNS } from "../engine/columns";
import type { DestinationSettings } from "../engine/settings";
import { positionOf, valuesOf, type StagedRow } from "../engine/staged-row";

/**
 * Typed queries against a pipeline's D1 table. Writes are multi-row upserts on the table's key, packed
 * up to D1's limit of 100 bound parameters per statement (so rows per statement follow from the column
 * count) and sent as one batch per `statementsPerBatch` statements (one transaction, one round trip).
 */

export const MAX_PARAMS = 100;

type SqlValue = string | number | null;

/** How many rows fit in one statement: the pipeline's columns plus the engine's bookkeeping, under 100 parameters. */
export function rowsPerStatement(destination: DestinationSettings): number {
  return Math.max(1, Math.floor(MAX_PARAMS / (destination.columns.length + BOOKKEEPING_COLUMNS.length)));
}

const quoteName = (name: string) => `"${name}"`;

function upsertSql(destination: DestinationSettings, rows: number, onlyNew: boolean): string {
  const names = [...destination.columns.map((column) => column.name), ...BOOKKEEPING_COLUMNS];
  const row = `(${names.map(() => "?").join(", ")})`;
  const updates = names.filter((name) => !destination.key.includes(name)).map((name) => `${quoteName(name)} = excluded.${quoteName(name)}`);
  // A row is only rewritten by another run, or by this very record again (a retried load): a record whose
  // key an earlier record of the same run took is left out, and RETURNING says which records were written.
  const guard = onlyNew ? ` WHERE ${quoteName(destination.table)}.run_id IS NOT excluded.run_id OR ${quoteName(destination.table)}.position IS excluded.position RETURNING position` : "";
  return `INSERT INTO ${quoteName(destination.table)} (${names.map(quoteName).join(", ")}) VALUES ${Array.from({ length: rows }, () => row).join(", ")}
    ON CONFLICT (${destination.key.map(quoteName).join(", ")}) DO UPDATE SET ${updates.join(", ")}${guard}`;
}

function bindings(rows: readonly StagedRow[], runId: string, loadedAt: number): SqlValue[] {
  const values: SqlValue[] = [];
  for (const row of rows) values.push(...(valuesOf(row) as SqlValue[]), runId, loadedAt, positionOf(row));
  return values;
}

function statements(db: D1Database, destination: DestinationSettings, rows: readonly StagedRow[], runId: string, loadedAt: number, onlyNew: boolean): D1PreparedStatement[] {
  const perStatement = rowsPerStatement(destination);
  const prepared: D1PreparedStatement[] = [];
  for (let start = 0; start < rows.length; start += perStatement) {
    const slice = rows.slice(start, start + perStatement);
    prepared.push(db.prepare(upsertSql(destination, slice.length, onlyNew)).bind(...bindings(slice, runId, loadedAt)));
  }
  return prepared;
}

/** Upserts rows; a later record with the same key replaces an earlier one ("last-wins"). */
export async function upsertRows(db: D1Database, destination: DestinationSettings, runId: string, rows: readonly StagedRow[], loadedAt: number, statementsPerBatch: number): Promise<number> {
  const prepared = statements(db, destination, rows, runId, loadedAt, false);
  for (let start = 0; start < prepared.length; start += statementsPerBatch) await db.batch(prepared.slice(start, start + statementsPerBatch));
  return rows.length;
}

export interface LoadedChunk {
  loaded: number;
  /** Rows whose key an earlier record of the same run already took, with that record's position. */
  duplicates: { row: StagedRow; first: number }[];
}

/**
 * Upserts a chunk of a run's rows and finds duplicate keys on the way, in D1 itself ("reject": the first
 * wins). Rows must arrive in position order. Exact, and needs no memory or storage of its own.
 */
export async function loadRowsOnce(db: D1Database, destination: DestinationSettings, runId: string, rows: readonly StagedRow[], loadedAt: number, statementsPerBatch: number): Promise<LoadedChunk> {
  const prepared = statements(db, destination, rows, runId, loadedAt, true);
  const written = new Set<number>();
  for (let start = 0; start < prepared.length; start += statementsPerBatch) {
    const results = await db.batch<{ position: number }>(prepared.slice(start, start + statementsPerBatch));
    for (const result of results) for (const row of result.results) written.add(row.position);
  }
  const refused = rows.filter((row) => !written.has(positionOf(row)));
  if (refused.length === 0) return { loaded: rows.length, duplicates: [] };
  const firsts = await firstPositions(db, destination, runId, refused);
  return {
    loaded: rows.length - refused.length,
    duplicates: refused.map((row) => ({ row, first: firsts.get(keyText(destination, row)) ?? -1 })),
  };
}

/** Where this run first wrote each of these rows' keys. */
async function firstPositions(db: D1Database, destination: DestinationSettings, runId: string, rows: readonly StagedRow[]): Promise<Map<string, number>> {
  const keyIndexes = destination.key.map((name) => destination.columns.findIndex((column) => column.name === name));
  const keys = [...new Map(rows.map((row) => [keyText(destination, row), keyIndexes.map((index) => valuesOf(row)[index] as SqlValue)])).values()];
  const perStatement = Math.floor((MAX_PARAMS - 1) / keyIndexes.length);
  const tuple = destination.key.length === 1 ? quoteName(destination.key[0]!) : `(${destination.key.map(quoteName).join(", ")})`;
  const firsts = new Map<string, number>();
  for (let start = 0; start < keys.length; start += perStatement) {
    const slice = keys.slice(start, start + perStatement);
    const list = destination.key.length === 1 ? slice.map(() => "?").join(", ") : `VALUES ${slice.map((key) => `(${key.map(() => "?").join(", ")})`).join(", ")}`;
    const found = await db
      .prepare(`SELECT position, ${destination.key.map(quoteName).join(", ")} FROM ${quoteName(destination.table)} WHERE run_id = ? AND ${tuple} IN (${list})`)
      .bind(runId, ...slice.flat())
      .all<Record<string, SqlValue>>();
    for (const row of found.results) firsts.set(JSON.stringify(destination.key.map((name) => row[name])), row.position as number);
  }
  return firsts;
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

