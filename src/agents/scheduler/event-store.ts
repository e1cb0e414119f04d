import type { OpenEventRun } from "../../domain/api-events";
import type { RunParams } from "../../domain/run";
import type { Sql } from "../coordinator/run-store";

/** An event as it was accepted. */
export interface StoredEvent {
  id: string;
  idempotencyKey: string | null;
  receivedAt: number;
  runId: string;
}

/** A run events made: its params, when it is due, and when it started (null: not yet). */
export interface EventRun {
  runId: string;
  params: RunParams;
  paramsKey: string;
  openedAt: number;
  startsAt: number;
  events: number;
  startedAt: number | null;
}

/** What a new event writes: itself, its key, and the run it opened or joined. */
export interface NewEvent {
  event: StoredEvent;
  /** Its place in the pipeline's count (nextSeq). */
  seq: number;
  /** What the request's params hash to, so a repeat of its key with another body is told apart. */
  fingerprint: string;
  params: RunParams;
  paramsKey: string;
  /** The run's start, as the event leaves it. */
  startsAt: number;
  /** The event opened its run (rather than joined one). */
  opens: boolean;
}

type RunRow = { run_id: string; params: string; params_key: string; opened_at: number; starts_at: number; events: number; started_at: number | null };

const toRun = (row: RunRow): EventRun => ({
  runId: row.run_id,
  params: JSON.parse(row.params) as RunParams,
  paramsKey: row.params_key,
  openedAt: row.opened_at,
  startsAt: row.starts_at,
  events: row.events,
  startedAt: row.started_at,
});

/**
 * The scheduler's record of events posted to the API, in its SQLite: each event with its key and the run
 * it was given, the runs events made (pending until started), and the Idempotency-Keys seen. Every
 * statement is synchronous, so a check and the insert it leads to run in one turn of the Durable Object.
 */
export class EventStore {
  constructor(private readonly sql: Sql) {}

  migrate(): void {
    this.sql`CREATE TABLE IF NOT EXISTS api_events (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, run_id TEXT NOT NULL, idempotency_key TEXT, received_at INTEGER NOT NULL)`;
    this.sql`CREATE INDEX IF NOT EXISTS api_events_by_run ON api_events (run_id, seq)`;
    this.sql`CREATE TABLE IF NOT EXISTS api_event_runs (run_id TEXT PRIMARY KEY, params TEXT NOT NULL, params_key TEXT NOT NULL, opened_at INTEGER NOT NULL, starts_at INTEGER NOT NULL, events INTEGER NOT NULL, started_at INTEGER)`;
    this.sql`CREATE INDEX IF NOT EXISTS api_event_runs_pending ON api_event_runs (starts_at) WHERE started_at IS NULL`;
    this.sql`CREATE INDEX IF NOT EXISTS api_event_runs_started ON api_event_runs (started_at) WHERE started_at IS NOT NULL`;
    this.sql`CREATE TABLE IF NOT EXISTS idempotency_keys (key TEXT PRIMARY KEY, event_id TEXT NOT NULL, fingerprint TEXT NOT NULL, created_at INTEGER NOT NULL)`;
    this.sql`CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys (created_at)`;
    this.sql`CREATE TABLE IF NOT EXISTS api_event_counter (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL)`;
  }

  /** The next number of the pipeline's count of events: never handed out twice, whatever is pruned. */
  nextSeq(): number {
    return this.sql<{ seq: number }>`INSERT INTO api_event_counter (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = seq + 1 RETURNING seq`[0]!.seq;
  }

  /** The event an Idempotency-Key was first used for (while it is kept), with what that request's params hashed to. */
  keyed(key: string): { eventId: string; fingerprint: string } | null {
    const [row] = this.sql<{ event_id: string; fingerprint: string }>`SELECT k.event_id, k.fingerprint FROM idempotency_keys k JOIN api_events e ON e.id = k.event_id WHERE k.key = ${key}`;
    return row ? { eventId: row.event_id, fingerprint: row.fingerprint } : null;
  }

  /** The run of these params that still takes events: not started, due after `now`. */
  openRun(paramsKey: string, now: number): OpenEventRun | null {
    const [row] = this.sql<RunRow>`SELECT * FROM api_event_runs WHERE started_at IS NULL AND params_key = ${paramsKey} AND starts_at > ${now} ORDER BY opened_at DESC LIMIT 1`;
    return row ? { runId: row.run_id, openedAt: row.opened_at, startsAt: row.starts_at, events: row.events } : null;
  }

  pendingRuns(): number {
    return this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM api_event_runs WHERE started_at IS NULL`[0]!.n;
  }

  /** Writes an event, its key, and its run (opened, or joined with the run's new start). */
  add(entry: NewEvent): void {
    const { event } = entry;
    this.sql`INSERT INTO api_events (id, seq, run_id, idempotency_key, received_at) VALUES (${event.id}, ${entry.seq}, ${event.runId}, ${event.idempotencyKey}, ${event.receivedAt})`;
    if (event.idempotencyKey !== null) {
      // A key whose event is gone (pruned) is free again: its row is replaced.
      this.sql`INSERT OR REPLACE INTO idempotency_keys (key, event_id, fingerprint, created_at) VALUES (${event.idempotencyKey}, ${event.id}, ${entry.fingerprint}, ${event.receivedAt})`;
    }
    if (entry.opens) {
      this.sql`INSERT INTO api_event_runs (run_id, params, params_key, opened_at, starts_at, events) VALUES (${event.runId}, ${JSON.stringify(entry.params)}, ${entry.paramsKey}, ${event.receivedAt}, ${entry.startsAt}, 1)`;
    } else {
      this.sql`UPDATE api_event_runs SET starts_at = ${entry.startsAt}, events = events + 1 WHERE run_id = ${event.runId}`;
    }
  }

  event(id: string): StoredEvent | null {
    const [row] = this.sql<{ id: string; idempotency_key: string | null; received_at: number; run_id: string }>`SELECT id, idempotency_key, received_at, run_id FROM api_events WHERE id = ${id}`;
    return row ? { id: row.id, idempotencyKey: row.idempotency_key, receivedAt: row.received_at, runId: row.run_id } : null;
  }

  run(runId: string): EventRun | null {
    const [row] = this.sql<RunRow>`SELECT * FROM api_event_runs WHERE run_id = ${runId}`;
    return row ? toRun(row) : null;
  }

  /** A run's events, in the order they arrived. */
  eventsOf(runId: string): { id: string; idempotencyKey: string | null }[] {
    return this.sql<{ id: string; idempotency_key: string | null }>`SELECT id, idempotency_key FROM api_events WHERE run_id = ${runId} ORDER BY seq`.map((row) => ({ id: row.id, idempotencyKey: row.idempotency_key }));
  }

  /** Runs not started whose time has come, in the order they became due (then opened). */
  dueRuns(now: number): EventRun[] {
    return this.sql<RunRow>`SELECT * FROM api_event_runs WHERE started_at IS NULL AND starts_at <= ${now} ORDER BY starts_at, opened_at, run_id`.map(toRun);
  }

  /** When the next run not started is due, after `now` (null: none). */
  nextDue(now: number): number | null {
    return this.sql<{ at: number | null }>`SELECT MIN(starts_at) AS at FROM api_event_runs WHERE started_at IS NULL AND starts_at > ${now}`[0]!.at;
  }

  started(runId: string, at: number): void {
    this.sql`UPDATE api_event_runs SET started_at = ${at} WHERE run_id = ${runId} AND started_at IS NULL`;
  }

  /** Runs started in [from, to), oldest first, at most `limit`, each with its events. */
  startedIn(from: number, to: number, limit: number): { runId: string; startedAt: number; events: { id: string; idempotencyKey: string | null }[] }[] {
    const runs = this.sql<{ run_id: string; started_at: number }>`SELECT run_id, started_at FROM api_event_runs WHERE started_at >= ${from} AND started_at < ${to} ORDER BY started_at, run_id LIMIT ${limit}`;
    return runs.map((row) => ({ runId: row.run_id, startedAt: row.started_at, events: this.eventsOf(row.run_id) }));
  }

  /**
   * Forgets Idempotency-Keys older than `keysBefore` whose event's run has started (a key of an event still
   * waiting is kept), and runs started before `runsBefore` with their events.
   */
  prune(keysBefore: number, runsBefore: number): void {
    this.sql`DELETE FROM idempotency_keys WHERE created_at < ${keysBefore} AND NOT EXISTS (SELECT 1 FROM api_events e JOIN api_event_runs r ON r.run_id = e.run_id WHERE e.id = idempotency_keys.event_id AND r.started_at IS NULL)`;
    this.sql`DELETE FROM api_events WHERE run_id IN (SELECT run_id FROM api_event_runs WHERE started_at < ${runsBefore})`;
    this.sql`DELETE FROM api_event_runs WHERE started_at < ${runsBefore}`;
  }
}
