import type { CleanRecord, Rejection, StagedRecord } from "../domain/records";

/**
 * Typed queries against the D1 database. Writes are multi-row upserts packed up to D1's limit of 100
 * bound parameters per statement and sent as one batch (one transaction, one round trip).
 */

const MAX_PARAMS = 100;
const STATEMENTS_PER_BATCH = 100;

const METRIC_COLUMNS = ["pipeline", "id", "timestamp", "value", "category", "type", "run_id", "loaded_at", "position"] as const;
const REJECTION_COLUMNS = ["pipeline", "run_id", "position", "record_id", "stage", "reason", "raw", "created_at"] as const;

export async function upsertMetrics(
  db: D1Database,
  pipeline: string,
  runId: string,
  records: readonly CleanRecord[],
  loadedAt: number,
  statementsPerBatch = STATEMENTS_PER_BATCH,
): Promise<number> {
  const rows = records.map((record) => metricRow(pipeline, runId, record, loadedAt));
  await writeRows(
    db,
    rows,
    statementsPerBatch,
    METRIC_COLUMNS.length,
    (placeholders) =>
      `INSERT INTO metrics (${METRIC_COLUMNS.join(", ")}) VALUES ${placeholders}
       ON CONFLICT (pipeline, id) DO UPDATE SET ${UPDATE_METRIC}`,
  );
  return rows.length;
}

const UPDATE_METRIC = `timestamp = excluded.timestamp, value = excluded.value, category = excluded.category,
  type = excluded.type, run_id = excluded.run_id, loaded_at = excluded.loaded_at, position = excluded.position`;

function metricRow(pipeline: string, runId: string, record: CleanRecord & { position?: number }, loadedAt: number) {
  return [pipeline, record.id, record.timestamp, record.value, record.category, record.type, runId, loadedAt, record.position ?? null];
}

export interface LoadedChunk {
  loaded: StagedRecord[];
  /** Records whose id an earlier record of the same run already claimed, with that record's position. */
  duplicates: { record: StagedRecord; first: number }[];
}

/**
 * Upserts a chunk of a run's records and finds duplicate ids on the way, in D1 itself: a row is only
 * rewritten if it belongs to another run or is this very record (a retried or resumed load). A record
 * whose row was not written therefore lost to an earlier record of the same run. Records must arrive in
 * position order, so the first occurrence wins. Exact, and needs no memory or storage of its own.
 */
export async function loadMetricsOnce(
  db: D1Database,
  pipeline: string,
  runId: string,
  records: readonly StagedRecord[],
  loadedAt: number,
  statementsPerBatch = STATEMENTS_PER_BATCH,
): Promise<LoadedChunk> {
  const columns = METRIC_COLUMNS.length;
  const rowsPerStatement = Math.floor(MAX_PARAMS / columns);
  const written = new Set<number>();
  const statements: D1PreparedStatement[] = [];
  for (let start = 0; start < records.length; start += rowsPerStatement) {
    const slice = records.slice(start, start + rowsPerStatement);
    const placeholders = slice.map(() => `(${Array.from({ length: columns }, () => "?").join(", ")})`).join(", ");
    statements.push(
      db
        .prepare(
          `INSERT INTO metrics (${METRIC_COLUMNS.join(", ")}) VALUES ${placeholders}
           ON CONFLICT (pipeline, id) DO UPDATE SET ${UPDATE_METRIC}
           WHERE metrics.run_id IS NOT excluded.run_id OR metrics.position IS excluded.position
           RETURNING position`,
        )
        .bind(...slice.flatMap((record) => metricRow(pipeline, runId, record, loadedAt))),
    );
  }
  for (let start = 0; start < statements.length; start += statementsPerBatch) {
    const results = await db.batch<{ position: number }>(statements.slice(start, start + statementsPerBatch));
    for (const result of results) for (const row of result.results) written.add(row.position);
  }
  const loaded = records.filter((record) => written.has(record.position));
  const refused = records.filter((record) => !written.has(record.position));
  if (refused.length === 0) return { loaded, duplicates: [] };
  const firsts = new Map<string, number>();
  const ids = [...new Set(refused.map((record) => record.id))];
  for (let start = 0; start < ids.length; start += MAX_PARAMS - 2) {
    const slice = ids.slice(start, start + MAX_PARAMS - 2);
    const found = await db
      .prepare(`SELECT id, position FROM metrics WHERE pipeline = ? AND run_id = ? AND id IN (${slice.map(() => "?").join(", ")})`)
      .bind(pipeline, runId, ...slice)
      .all<{ id: string; position: number }>();
    for (const row of found.results) firsts.set(row.id, row.position);
  }
  return { loaded, duplicates: refused.map((record) => ({ record, first: firsts.get(record.id) ?? -1 })) };
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
