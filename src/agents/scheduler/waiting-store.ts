import type { WaitingFor } from "../../domain/upstream-gate";
import type { Sql } from "../coordinator/run-store";

/** A due slot held back by its upstream. */
export interface WaitingSlot {
  slot: number;
  /** When the slot came due and started waiting. */
  since: number;
  /** When its upstream was last looked at (null: not yet). */
  checkedAt: number | null;
  /** What it waited for then. */
  waitingFor: WaitingFor[];
}

/** What one cascade has heard from this pipeline's upstreams so far. */
export interface CascadeState {
  root: string;
  closure: string[];
  /** Per upstream pipeline that reported: the slots its backfill ran to success. */
  reports: Record<string, number[]>;
  createdAt: number;
  /** The backfill this pipeline started for the cascade, once it did. */
  backfillId: string | null;
}

/**
 * The scheduler's side of data-aware triggers, in its SQLite: slots waiting for their upstream, and the
 * cascades reaching this pipeline. Kept here, so a restart, a lost alarm or a repeated notice finds them.
 */
export class WaitingStore {
  constructor(private readonly sql: Sql) {}

  migrate(): void {
    this.sql`CREATE TABLE IF NOT EXISTS waiting_slots (slot INTEGER PRIMARY KEY, since INTEGER NOT NULL, checked_at INTEGER, waiting_for TEXT NOT NULL DEFAULT '[]')`;
    this.sql`CREATE TABLE IF NOT EXISTS cascades (root TEXT PRIMARY KEY, closure TEXT NOT NULL, reports TEXT NOT NULL, created_at INTEGER NOT NULL, backfill_id TEXT)`;
  }

  hold(slot: number, since: number): void {
    this.sql`INSERT OR IGNORE INTO waiting_slots (slot, since) VALUES (${slot}, ${since})`;
  }

  /** The waiting slots, oldest first. */
  waiting(): WaitingSlot[] {
    return this.sql<{ slot: number; since: number; checked_at: number | null; waiting_for: string }>`SELECT slot, since, checked_at, waiting_for FROM waiting_slots ORDER BY slot`.map((row) => ({
      slot: row.slot,
      since: row.since,
      checkedAt: row.checked_at,
      waitingFor: JSON.parse(row.waiting_for) as WaitingFor[],
    }));
  }

  hasWaiting(): boolean {
    return this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM waiting_slots`[0]!.n > 0;
  }

  noted(slot: number, waitingFor: readonly WaitingFor[], at: number): void {
    this.sql`UPDATE waiting_slots SET checked_at = ${at}, waiting_for = ${JSON.stringify(waitingFor)} WHERE slot = ${slot}`;
  }

  release(slot: number): void {
    this.sql`DELETE FROM waiting_slots WHERE slot = ${slot}`;
  }

  clear(): void {
    this.sql`DELETE FROM waiting_slots`;
  }

  /** Adds an upstream's report to a cascade (a repeated report changes nothing) and returns the cascade. */
  report(root: string, closure: readonly string[], upstream: string, slots: readonly number[], now: number): CascadeState {
    this.sql`INSERT OR IGNORE INTO cascades (root, closure, reports, created_at) VALUES (${root}, ${JSON.stringify(closure)}, '{}', ${now})`;
    const state = this.cascade(root)!;
    if (!(upstream in state.reports)) {
      const reports = { ...state.reports, [upstream]: [...slots] };
      this.sql`UPDATE cascades SET reports = ${JSON.stringify(reports)} WHERE root = ${root}`;
      return { ...state, reports };
    }
    return state;
  }

  cascade(root: string): CascadeState | null {
    const [row] = this.sql<{ root: string; closure: string; reports: string; created_at: number; backfill_id: string | null }>`SELECT root, closure, reports, created_at, backfill_id FROM cascades WHERE root = ${root}`;
    return row ? { root: row.root, closure: JSON.parse(row.closure) as string[], reports: JSON.parse(row.reports) as Record<string, number[]>, createdAt: row.created_at, backfillId: row.backfill_id } : null;
  }

  /** Cascades heard from but not started here yet, oldest first. */
  pendingCascades(): CascadeState[] {
    return this.sql<{ root: string }>`SELECT root FROM cascades WHERE backfill_id IS NULL ORDER BY created_at`.map((row) => this.cascade(row.root)!);
  }

  cascadeStarted(root: string, backfillId: string): void {
    this.sql`UPDATE cascades SET backfill_id = ${backfillId} WHERE root = ${root}`;
  }

  /** Cascades are remembered for a month: a notice repeated later than that is long settled. */
  pruneCascades(before: number): void {
    this.sql`DELETE FROM cascades WHERE created_at < ${before}`;
  }
}
