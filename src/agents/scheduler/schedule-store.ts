import type { ScheduleSpec } from "../../domain/schedule";
import type { SchedulePeriod } from "../../domain/schedule-periods";
import type { LatenessEvent } from "../../domain/slot-ledger";
import type { Sql } from "../coordinator/run-store";

/** Schedule changes remembered for the ledger. */
const MAX_PERIODS = 500;

export type MetaKey = "armed_slot" | "judged_through" | "rearms" | "last_rearm_at" | "last_rearm_reason" | "last_check_at" | "own_schedule_paused";

/** A lateness alert of one slot, as the ledger shows it. `not_sent`: no ALERT_WEBHOOK_URL is set. */
export interface SlotAlert {
  slot: number;
  event: LatenessEvent;
  status: "pending" | "delivered" | "failed" | "not_sent";
  attempts: number;
  error?: string;
  at: number;
}

/**
 * A pipeline's schedule state in its scheduler's SQLite: the last slot handled (missed slots are counted
 * from it), the schedule set through the API (kept across restarts and deploys), and the backlog of
 * missed slots waiting to run.
 */
export class ScheduleStore {
  constructor(private readonly sql: Sql) {}

  migrate(): void {
    this.sql`CREATE TABLE IF NOT EXISTS schedule_state (
      id               INTEGER PRIMARY KEY CHECK (id = 1),
      execution_count  INTEGER NOT NULL DEFAULT 0,
      last_slot        INTEGER,
      last_executed_at INTEGER
    )`;
    this.sql`INSERT OR IGNORE INTO schedule_state (id) VALUES (1)`;
    this.sql`CREATE TABLE IF NOT EXISTS schedule_config (id INTEGER PRIMARY KEY CHECK (id = 1), spec TEXT NOT NULL)`;
    this.sql`CREATE TABLE IF NOT EXISTS schedule_backlog (slot INTEGER PRIMARY KEY)`;
    this.sql`CREATE TABLE IF NOT EXISTS schedule_periods (start INTEGER PRIMARY KEY, spec TEXT NOT NULL)`;
    this.sql`CREATE TABLE IF NOT EXISTS scheduler_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`;
    this.sql`CREATE TABLE IF NOT EXISTS slot_alerts (
      slot     INTEGER NOT NULL,
      event    TEXT NOT NULL,
      status   TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      error    TEXT,
      at       INTEGER NOT NULL,
      PRIMARY KEY (slot, event)
    )`;
  }

  /** The schedules in force over time, oldest first (at most the newest MAX_PERIODS). */
  periods(): SchedulePeriod[] {
    return this.sql<{ start: number; spec: string }>`SELECT start, spec FROM schedule_periods ORDER BY start`.map((row) => {
      const spec = JSON.parse(row.spec) as ScheduleSpec;
      return { from: row.start, spec: { ...spec, deadlineMs: spec.deadlineMs ?? null } };
    });
  }

  addPeriod(from: number, spec: ScheduleSpec): void {
    this.sql`INSERT INTO schedule_periods (start, spec) VALUES (${from}, ${JSON.stringify(spec)}) ON CONFLICT (start) DO UPDATE SET spec = excluded.spec`;
    this.sql`DELETE FROM schedule_periods WHERE start IN (SELECT start FROM schedule_periods ORDER BY start DESC LIMIT -1 OFFSET ${MAX_PERIODS})`;
  }

  meta(key: MetaKey): string | null {
    return this.sql<{ value: string }>`SELECT value FROM scheduler_meta WHERE key = ${key}`[0]?.value ?? null;
  }

  setMeta(key: MetaKey, value: string | number): void {
    this.sql`INSERT INTO scheduler_meta (key, value) VALUES (${key}, ${String(value)}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
  }

  deleteMeta(key: MetaKey): void {
    this.sql`DELETE FROM scheduler_meta WHERE key = ${key}`;
  }

  /** Records that a slot alerts `event`; false if it already did (each slot alerts each event once). */
  claimAlert(slot: number, event: LatenessEvent, now: number): boolean {
    const before = this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM slot_alerts WHERE slot = ${slot} AND event = ${event}`[0]!.n;
    if (before > 0) return false;
    this.sql`INSERT INTO slot_alerts (slot, event, status, at) VALUES (${slot}, ${event}, 'pending', ${now})`;
    return true;
  }

  alertDelivered(slots: readonly number[], event: LatenessEvent, outcome: { status: string; attempts: number; error?: string }, now: number): void {
    for (const slot of slots) {
      this.sql`UPDATE slot_alerts SET status = ${outcome.status}, attempts = ${outcome.attempts}, error = ${outcome.error ?? null}, at = ${now} WHERE slot = ${slot} AND event = ${event}`;
    }
  }

  /** Of `slots`, the ones whose `event` alert is still to be sent. */
  pendingAlerts(slots: readonly number[], event: LatenessEvent): Set<number> {
    const pending = new Set<number>();
    for (const slot of slots) {
      if (this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM slot_alerts WHERE slot = ${slot} AND event = ${event} AND status = 'pending'`[0]!.n > 0) pending.add(slot);
    }
    return pending;
  }

  /** The alerts of the slots in [from, to). */
  alerts(from: number, to: number): SlotAlert[] {
    return this.sql<{ slot: number; event: LatenessEvent; status: SlotAlert["status"]; attempts: number; error: string | null; at: number }>`
      SELECT slot, event, status, attempts, error, at FROM slot_alerts WHERE slot >= ${from} AND slot < ${to} ORDER BY slot`.map((row) => ({
      slot: row.slot,
      event: row.event,
      status: row.status,
      attempts: row.attempts,
      ...(row.error === null ? {} : { error: row.error }),
      at: row.at,
    }));
  }

  /** Alerts of slots older than `before` are forgotten (the ledger keeps the slots' fates). */
  pruneAlerts(before: number): void {
    this.sql`DELETE FROM slot_alerts WHERE slot < ${before}`;
  }

  state(): { executionCount: number; lastExecutedAt: number | null } {
    const [row] = this.sql<{ execution_count: number; last_executed_at: number | null }>`SELECT execution_count, last_executed_at FROM schedule_state WHERE id = 1`;
    return { executionCount: row?.execution_count ?? 0, lastExecutedAt: row?.last_executed_at ?? null };
  }

  lastSlot(): number | null {
    return this.sql<{ last_slot: number | null }>`SELECT last_slot FROM schedule_state WHERE id = 1`[0]?.last_slot ?? null;
  }

  /** Moves the last handled slot forward, never back. */
  advanceLastSlot(slot: number): void {
    this.sql`UPDATE schedule_state SET last_slot = ${slot} WHERE id = 1 AND (last_slot IS NULL OR last_slot < ${slot})`;
  }

  /** Counts from `slot` from now on, whatever was handled before (a schedule change). */
  resetLastSlot(slot: number): void {
    this.sql`UPDATE schedule_state SET last_slot = ${slot} WHERE id = 1`;
  }

  countExecution(at: number): void {
    this.sql`UPDATE schedule_state SET execution_count = execution_count + 1, last_executed_at = ${at} WHERE id = 1`;
  }

  /** The schedule set through the API, or null when the pipeline's own applies. */
  storedSpec(): ScheduleSpec | null {
    const [row] = this.sql<{ spec: string }>`SELECT spec FROM schedule_config WHERE id = 1`;
    // Schedules stored before deadlines existed have none.
    if (!row) return null;
    const spec = JSON.parse(row.spec) as ScheduleSpec;
    return { ...spec, deadlineMs: spec.deadlineMs ?? null };
  }

  storeSpec(spec: ScheduleSpec): void {
    this.sql`INSERT INTO schedule_config (id, spec) VALUES (1, ${JSON.stringify(spec)}) ON CONFLICT (id) DO UPDATE SET spec = excluded.spec`;
  }

  clearSpec(): void {
    this.sql`DELETE FROM schedule_config`;
  }

  backlog(): number[] {
    return this.sql<{ slot: number }>`SELECT slot FROM schedule_backlog ORDER BY slot`.map((row) => row.slot);
  }

  addToBacklog(slots: readonly number[]): void {
    for (const slot of slots) this.sql`INSERT OR IGNORE INTO schedule_backlog (slot) VALUES (${slot})`;
  }

  removeFromBacklog(slot: number): void {
    this.sql`DELETE FROM schedule_backlog WHERE slot = ${slot}`;
  }

  clearBacklog(): void {
    this.sql`DELETE FROM schedule_backlog`;
  }
}
