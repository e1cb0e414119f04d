import type { ObjectArrival } from "../../domain/object-notifications";
import type { TriggeredRun } from "../../domain/triggered-run";
import type { Sql } from "../coordinator/run-store";

/**
 * Where an object stands with its pipeline: waiting for its debounce (pending), given a run id that is
 * being started (starting), part of a run that started (admitted), or set aside with a reason (ignored).
 */
export type ArrivalState = "pending" | "starting" | "admitted" | "ignored";

export interface StoredArrival extends ObjectArrival {
  /** When the scheduler was told of it: the debounce counts from here. */
  receivedAt: number;
  state: ArrivalState;
  runId: string | null;
  reason: string | null;
  /** When it was admitted to its run or set aside. */
  decidedAt: number | null;
}

type Row = { object_key: string; etag: string; size: number; event_time: number; received_at: number; state: ArrivalState; run_id: string | null; reason: string | null; decided_at: number | null };

const toArrival = (row: Row): StoredArrival => ({
  key: row.object_key,
  etag: row.etag,
  size: row.size,
  eventTime: row.event_time,
  receivedAt: row.received_at,
  state: row.state,
  runId: row.run_id,
  reason: row.reason,
  decidedAt: row.decided_at,
});

/**
 * The objects notifications told this pipeline of, in the scheduler's SQLite, one row per (key, etag):
 * a notification delivered again finds its row and changes nothing, which is what makes each object
 * start at most one run however often the platform delivers it.
 */
export class ObjectStore {
  constructor(private readonly sql: Sql) {}

  migrate(): void {
    this.sql`CREATE TABLE IF NOT EXISTS object_arrivals (object_key TEXT NOT NULL, etag TEXT NOT NULL, size INTEGER NOT NULL, event_time INTEGER NOT NULL, received_at INTEGER NOT NULL, state TEXT NOT NULL, run_id TEXT, reason TEXT, decided_at INTEGER, PRIMARY KEY (object_key, etag))`;
    this.sql`CREATE INDEX IF NOT EXISTS object_arrivals_by_state ON object_arrivals (state, received_at)`;
    this.sql`CREATE INDEX IF NOT EXISTS object_arrivals_by_run ON object_arrivals (run_id)`;
  }

  /** Notes an object as pending; false when it was known already (a repeated delivery). */
  receive(arrival: ObjectArrival, now: number): boolean {
    // No await between the look and the insert: the Durable Object runs this turn alone.
    if (this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM object_arrivals WHERE object_key = ${arrival.key} AND etag = ${arrival.etag}`[0]!.n > 0) return false;
    this.sql`INSERT INTO object_arrivals (object_key, etag, size, event_time, received_at, state) VALUES (${arrival.key}, ${arrival.etag}, ${arrival.size}, ${arrival.eventTime}, ${now}, 'pending')`;
    return true;
  }

  /** The objects waiting for their run, as they were heard of. */
  pending(): StoredArrival[] {
    return this.sql<Row>`SELECT * FROM object_arrivals WHERE state = 'pending' ORDER BY received_at, object_key, etag`.map(toArrival);
  }

  /** The group given a run id whose start was not confirmed (the scheduler stopped in between), if any. */
  starting(): { runId: string; objects: StoredArrival[] } | null {
    const rows = this.sql<Row>`SELECT * FROM object_arrivals WHERE state = 'starting' ORDER BY received_at, object_key, etag`.map(toArrival);
    const runId = rows[0]?.runId;
    return runId ? { runId, objects: rows.filter((row) => row.runId === runId) } : null;
  }

  /** Gives these objects the run about to start (written before it is started). */
  assign(objects: readonly { key: string; etag: string }[], runId: string, now: number): void {
    for (const object of objects) this.sql`UPDATE object_arrivals SET state = 'starting', run_id = ${runId}, decided_at = ${now} WHERE object_key = ${object.key} AND etag = ${object.etag}`;
  }

  /** The run started (or had started): its objects are admitted. */
  admitted(runId: string): void {
    this.sql`UPDATE object_arrivals SET state = 'admitted' WHERE run_id = ${runId} AND state = 'starting'`;
  }

  /** The run was not started (the pipeline was busy): its objects wait again, for the next try. */
  release(runId: string): void {
    this.sql`UPDATE object_arrivals SET state = 'pending', run_id = NULL, decided_at = NULL WHERE run_id = ${runId} AND state = 'starting'`;
  }

  ignore(object: { key: string; etag: string }, reason: string, now: number): void {
    this.sql`UPDATE object_arrivals SET state = 'ignored', reason = ${reason}, decided_at = ${now} WHERE object_key = ${object.key} AND etag = ${object.etag}`;
  }

  /** Every object known, newest first (for tests and the curious). */
  all(limit: number): StoredArrival[] {
    return this.sql<Row>`SELECT * FROM object_arrivals ORDER BY received_at DESC, object_key LIMIT ${limit}`.map(toArrival);
  }

  /** The runs admitted in [from, to), oldest first, each with its objects in the order they were heard of. */
  runs(from: number, to: number): TriggeredRun[] {
    const rows = this.sql<Row>`SELECT * FROM object_arrivals WHERE state = 'admitted' AND decided_at >= ${from} AND decided_at < ${to} ORDER BY decided_at, run_id, received_at, object_key`;
    const runs = new Map<string, TriggeredRun>();
    for (const row of rows) {
      const run = runs.get(row.run_id!) ?? { runId: row.run_id!, trigger: "object" as const, admittedAt: row.decided_at!, objects: [], events: [] };
      run.objects.push({ key: row.object_key, etag: row.etag });
      runs.set(row.run_id!, run);
    }
    return [...runs.values()];
  }

  /**
   * Objects decided on before `before` are forgotten. A repeat of their notification later than that
   * would be seen as new, and the object ledger would still keep its object from being read twice.
   */
  prune(before: number): void {
    this.sql`DELETE FROM object_arrivals WHERE state IN ('admitted', 'ignored') AND decided_at < ${before}`;
  }
}
