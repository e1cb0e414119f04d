import { MAX_PARAMS } from "../../db/limits";

/**
 * The object ledger (D1 table `source_objects`): an object, by key and etag, counts as read once a run
 * that read it has succeeded. Readers note what they read as they finish (`claim`); the run's success
 * makes it count (`commit`). A run that fails or is cancelled commits nothing, so the next run reads those
 * objects again; a re-uploaded object has a new etag and is read as new.
 */

export interface ClaimedObject {
  key: string;
  etag: string;
  size: number;
  records: number;
}

const CLAIM_COLUMNS = 8;
const STATEMENTS_PER_BATCH = 50;

/** The committed (key, etag) pairs under a prefix, with the run that made each count: read in pages. */
export async function committedObjects(db: D1Database, pipeline: string, source: string, prefix: string): Promise<Map<string, string>> {
  const committed = new Map<string, string>();
  let after: [string, string] = [prefix, ""];
  for (;;) {
    // Keyset on the primary key's order: the index answers it, however long the ledger grows.
    const page = await db
      .prepare("SELECT object_key, etag, committed_run_id FROM source_objects WHERE pipeline = ?1 AND source = ?2 AND (object_key, etag) > (?3, ?4) ORDER BY object_key, etag LIMIT 5000")
      .bind(pipeline, source, after[0], after[1])
      .all<{ object_key: string; etag: string; committed_run_id: string | null }>();
    for (const row of page.results) {
      if (!row.object_key.startsWith(prefix)) return committed;
      if (row.committed_run_id !== null) committed.set(ledgerKey(row.object_key, row.etag), row.committed_run_id);
    }
    if (page.results.length < 5000) return committed;
    const last = page.results.at(-1)!;
    after = [last.object_key, last.etag];
  }
}

/** Of the given (key, etag) pairs, those a successful run has read, with that run: by primary key, in chunks. */
export async function committedAmong(db: D1Database, pipeline: string, source: string, objects: readonly { key: string; etag: string }[]): Promise<Map<string, string>> {
  const committed = new Map<string, string>();
  const perStatement = Math.floor((MAX_PARAMS - 2) / 2);
  const statements: D1PreparedStatement[] = [];
  for (let start = 0; start < objects.length; start += perStatement) {
    const slice = objects.slice(start, start + perStatement);
    statements.push(
      db
        .prepare(`SELECT object_key, etag, committed_run_id FROM source_objects WHERE pipeline = ? AND source = ? AND committed_run_id IS NOT NULL AND (object_key, etag) IN (VALUES ${slice.map(() => "(?, ?)").join(", ")})`)
        .bind(pipeline, source, ...slice.flatMap((object) => [object.key, object.etag])),
    );
  }
  for (let start = 0; start < statements.length; start += STATEMENTS_PER_BATCH) {
    for (const result of await db.batch<{ object_key: string; etag: string; committed_run_id: string }>(statements.slice(start, start + STATEMENTS_PER_BATCH))) {
      for (const row of result.results) committed.set(ledgerKey(row.object_key, row.etag), row.committed_run_id);
    }
  }
  return committed;
}

export function ledgerKey(key: string, etag: string): string {
  return `${key}\0${etag}`;
}

/** Notes the objects a reader of this run read (not yet counted as read: the run has to succeed). */
export async function claimObjects(db: D1Database, pipeline: string, source: string, runId: string, objects: readonly ClaimedObject[], now: number): Promise<void> {
  const rowsPerStatement = Math.floor(MAX_PARAMS / CLAIM_COLUMNS);
  const statements: D1PreparedStatement[] = [];
  for (let start = 0; start < objects.length; start += rowsPerStatement) {
    const slice = objects.slice(start, start + rowsPerStatement);
    statements.push(
      db
        .prepare(
          `INSERT INTO source_objects (pipeline, source, object_key, etag, size, records, run_id, read_at) VALUES ${slice.map(() => "(?, ?, ?, ?, ?, ?, ?, ?)").join(", ")} ON CONFLICT (pipeline, source, object_key, etag) DO UPDATE SET size = excluded.size, records = excluded.records, run_id = excluded.run_id, read_at = excluded.read_at`,
        )
        .bind(...slice.flatMap((object) => [pipeline, source, object.key, object.etag, object.size, object.records, runId, now])),
    );
  }
  for (let start = 0; start < statements.length; start += STATEMENTS_PER_BATCH) await db.batch(statements.slice(start, start + STATEMENTS_PER_BATCH));
}

/** The run succeeded: what it (or the runs whose extract output it reused) read now counts as read. */
export async function commitObjects(db: D1Database, pipeline: string, source: string, runIds: readonly string[]): Promise<number> {
  const result = await db
    .prepare(`UPDATE source_objects SET committed_run_id = run_id WHERE pipeline = ? AND source = ? AND run_id IN (${runIds.map(() => "?").join(", ")})`)
    .bind(pipeline, source, ...runIds)
    .run();
  return result.meta.changes;
}
