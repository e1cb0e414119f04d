import type { ScheduleSpec } from "../../domain/schedule";
import type { Sql } from "../coordinator/run-store";

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
    return row ? (JSON.parse(row.spec) as ScheduleSpec) : null;
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
