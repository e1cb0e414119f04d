import { storableText, type Rejection } from "../domain/records";
import { MAX_PARAMS } from "./limits";

/**
 * `rejected_records`: every record a run refused, with its position, id, stage, reason and raw form,
 * keyed by (pipeline, run_id, position) so a resumed load rewrites the same rows.
 */
const REJECTION_COLUMNS = ["pipeline", "run_id", "position", "record_id", "stage", "reason", "raw", "created_at"] as const;
const STATEMENTS_PER_BATCH = 100;

export async function saveRejections(
  db: D1Database,
  pipeline: string,
  runId: string,
  rejections: readonly Rejection[],
  createdAt: number,
  statementsPerBatch = STATEMENTS_PER_BATCH,
): Promise<number> {
  const statements = rejectionStatements(db, pipeline, runId, rejections, createdAt);
  for (let start = 0; start < statements.length; start += statementsPerBatch) await db.batch(statements.slice(start, start + statementsPerBatch));
  return rejections.length;
}

/** The statements that save these rejections, for a caller that sends them in a batch of its own. */
export function rejectionStatements(db: D1Database, pipeline: string, runId: string, rejections: readonly Rejection[], createdAt: number): D1PreparedStatement[] {
  const perStatement = Math.floor(MAX_PARAMS / REJECTION_COLUMNS.length);
  const statements: D1PreparedStatement[] = [];
  for (let start = 0; start < rejections.length; start += perStatement) {
    const slice = rejections.slice(start, start + perStatement);
    const placeholders = slice.map(() => `(${REJECTION_COLUMNS.map(() => "?").join(", ")})`).join(", ");
    statements.push(
      db
        .prepare(
          `INSERT INTO rejected_records (${REJECTION_COLUMNS.join(", ")}) VALUES ${placeholders}
           ON CONFLICT (pipeline, run_id, position) DO UPDATE SET
             record_id = excluded.record_id, stage = excluded.stage, reason = excluded.reason, raw = excluded.raw`,
        )
        .bind(...slice.flatMap((rejection) => [pipeline, runId, rejection.position, storableText(rejection.id), rejection.stage, storableText(rejection.reason), storableText(rejection.raw), createdAt])),
    );
  }
  return statements;
}

export interface RejectionRow {
  run_id: string;
  position: number;
  record_id: string | null;
  stage: string;
  reason: string;
  raw: string;
}

/** Removes the rejected-record detail of runs that left the history. */
export async function deleteRejectionsOfRuns(db: D1Database, pipeline: string, runIds: readonly string[]): Promise<void> {
  const perStatement = MAX_PARAMS - 1;
  const statements: D1PreparedStatement[] = [];
  for (let start = 0; start < runIds.length; start += perStatement) {
    const slice = runIds.slice(start, start + perStatement);
    statements.push(db.prepare(`DELETE FROM rejected_records WHERE pipeline = ? AND run_id IN (${slice.map(() => "?").join(", ")})`).bind(pipeline, ...slice));
  }
  for (let start = 0; start < statements.length; start += STATEMENTS_PER_BATCH) await db.batch(statements.slice(start, start + STATEMENTS_PER_BATCH));
}

/** One page of a run's rejected records, in position order, after `afterPosition`. */
export async function pageRejections(db: D1Database, pipeline: string, runId: string, afterPosition: number, limit: number): Promise<RejectionRow[]> {
  const result = await db
    .prepare(
      `SELECT run_id, position, record_id, stage, reason, raw FROM rejected_records
       WHERE pipeline = ? AND run_id = ? AND position > ? ORDER BY position LIMIT ?`,
    )
    .bind(pipeline, runId, afterPosition, limit)
    .all<RejectionRow>();
  return result.results;
}
