import type { CleanRecord, Rejection } from "../domain/records";

/**
 * Typed queries against the D1 database. Writes are multi-row upserts packed up to D1's limit of 100
 * bound parameters per statement and sent as one batch (one transaction, one round trip).
 */

const MAX_PARAMS = 100;
const STATEMENTS_PER_BATCH = 100;

const METRIC_COLUMNS = ["pipeline", "id", "timestamp", "value", "category", "type", "run_id", "loaded_at"] as const;
const REJECTION_COLUMNS = ["pipeline", "run_id", "position", "record_id", "stage", "reason", "raw", "created_at"] as const;

export async function upsertMetrics(
  db: D1Database,
  pipeline: string,
  runId: string,
  records: readonly CleanRecord[],
  loadedAt: number,
  statementsPerBatch = STATEMENTS_PER_BATCH,
): Promise<number> {
  const rows = records.map((record) => [
    pipeline,
    record.id,
    record.timestamp,
    record.value,
    record.category,
    record.type,
    runId,
    loadedAt,
  ]);
  await writeRows(
    db,
    rows,
    statementsPerBatch,
    METRIC_COLUMNS.length,
    (placeholders) =>
      `INSERT INTO metrics (${METRIC_COLUMNS.join(", ")}) VALUES ${placeholders}
       ON CONFLICT (pipeline, id) DO UPDATE SET
         timestamp = excluded.timestamp, value = excluded.value, category = excluded.category,
         type = excluded.type, run_id = excluded.run_id, loaded_at = excluded.loaded_at`,
  );
  return rows.length;
}

export async function saveRejections(
  db: D1Database,
  pipeline: string,
  runId: string,
  rejections: readonly Rejection[],
  createdAt: number,
  statementsPerBatch = STATEMENTS_PER_BATCH,
): Promise<number> {
  const rows = rejections.map((rejection) => [
    pipeline,
    runId,
    rejection.position,
    rejection.id,
    rejection.stage,
    rejection.reason,
    rejection.raw,
    createdAt,
  ]);
  await writeRows(
    db,
    rows,
    statementsPerBatch,
    REJECTION_COLUMNS.length,
    (placeholders) =>
      `INSERT INTO rejected_records (${REJECTION_COLUMNS.join(", ")}) VALUES ${placeholders}
       ON CONFLICT (pipeline, run_id, position) DO UPDATE SET
         record_id = excluded.record_id, stage = excluded.stage, reason = excluded.reason, raw = excluded.raw`,
  );
  return rows.length;
}

async function writeRows(
  db: D1Database,
  rows: readonly (string | number | null)[][],
  statementsPerBatch: number,
  columns: number,
  sql: (placeholders: string) => string,
): Promise<void> {
  const rowsPerStatement = Math.floor(MAX_PARAMS / columns);
  const statements: D1PreparedStatement[] = [];
  for (let start = 0; start < rows.length; start += rowsPerStatement) {
    const slice = rows.slice(start, start + rowsPerStatement);
    const placeholders = slice.map(() => `(${Array.from({ length: columns }, () => "?").join(", ")})`).join(", ");
    statements.push(db.prepare(sql(placeholders)).bind(...slice.flat()));
  }
  for (let start = 0; start < statements.length; start += statementsPerBatch) {
    await db.batch(statements.slice(start, start + statementsPerBatch));
  }
}

export interface MetricRow {
  id: string;
  timestamp: string;
  value: number;
  category: string;
  type: string | null;
  run_id: string;
}

export async function listMetrics(db: D1Database, pipeline: string): Promise<MetricRow[]> {
  const result = await db
    .prepare("SELECT id, timestamp, value, category, type, run_id FROM metrics WHERE pipeline = ? ORDER BY id")
    .bind(pipeline)
    .all<MetricRow>();
  return result.results;
}

export interface RejectionRow {
  run_id: string;
  position: number;
  record_id: string | null;
  stage: string;
  reason: string;
  raw: string;
}

export async function listRejections(db: D1Database, pipeline: string, runId: string): Promise<RejectionRow[]> {
  const result = await db
    .prepare(
      "SELECT run_id, position, record_id, stage, reason, raw FROM rejected_records WHERE pipeline = ? AND run_id = ? ORDER BY position",
    )
    .bind(pipeline, runId)
    .all<RejectionRow>();
  return result.results;
}

/** Removes the rejected-record detail of runs that left the history. */
export async function deleteRejectionsOfRuns(db: D1Database, pipeline: string, runIds: readonly string[]): Promise<void> {
  const perStatement = MAX_PARAMS - 1;
  const statements: D1PreparedStatement[] = [];
  for (let start = 0; start < runIds.length; start += perStatement) {
    const slice = runIds.slice(start, start + perStatement);
    statements.push(
      db.prepare(`DELETE FROM rejected_records WHERE pipeline = ? AND run_id IN (${slice.map(() => "?").join(", ")})`).bind(pipeline, ...slice),
    );
  }
  for (let start = 0; start < statements.length; start += STATEMENTS_PER_BATCH) {
    await db.batch(statements.slice(start, start + STATEMENTS_PER_BATCH));
  }
}

/** One page of a run's rejected records, in position order, after `afterPosition`. */
export async function pageRejections(
  db: D1Database,
  pipeline: string,
  runId: string,
  afterPosition: number,
  limit: number,
): Promise<RejectionRow[]> {
  const result = await db
    .prepare(
      `SELECT run_id, position, record_id, stage, reason, raw FROM rejected_records
       WHERE pipeline = ? AND run_id = ? AND position > ? ORDER BY position LIMIT ?`,
    )
    .bind(pipeline, runId, afterPosition, limit)
    .all<RejectionRow>();
  return result.results;
}
