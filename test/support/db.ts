import type { RejectionRow } from "../../src/db/rejections";

/** Reading what runs left in D1, for assertions. */

export interface MetricRow {
  id: string;
  timestamp: string;
  value: number;
  category: string;
  type: string | null;
  run_id: string;
}

export async function listMetrics(db: D1Database, pipeline: string): Promise<MetricRow[]> {
  const result = await db.prepare("SELECT id, timestamp, value, category, type, run_id FROM metrics WHERE pipeline = ? ORDER BY id").bind(pipeline).all<MetricRow>();
  return result.results;
}

export type { RejectionRow };

export async function listRejections(db: D1Database, pipeline: string, runId: string): Promise<RejectionRow[]> {
  const result = await db
    .prepare("SELECT run_id, position, record_id, stage, reason, raw FROM rejected_records WHERE pipeline = ? AND run_id = ? ORDER BY position")
    .bind(pipeline, runId)
    .all<RejectionRow>();
  return result.results;
}
