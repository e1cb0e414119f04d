import { destinationKindOf } from "../../destinations";
import type { EventName } from "../../observability/events";
import type { PipelineSettings } from "../../engine/settings";
import type { Sql } from "./run-store";

export interface StagedLoadsHost {
  env: Env;
  sql: Sql;
  log(event: EventName, runId: string, fields?: Record<string, unknown>): void;
}

/**
 * Runs whose load followed transform into the destination's staging (see DestinationKind.staging). The
 * load agent drops its staging when it stops or fails; this ledger is for when it could not (its agent was
 * reset, the machine went): the run's end drops it, and the watchdog's sweep drops what a crash left.
 * Dropping twice is harmless, so a run is marked before its follower starts and unmarked once dropped.
 */
export class StagedLoads {
  constructor(private readonly host: StagedLoadsHost) {}

  migrate(): void {
    // The destination is kept with the mark: a run's record may be gone (pruned) before its drop succeeds.
    this.host.sql`CREATE TABLE IF NOT EXISTS staged_loads (run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, destination TEXT NOT NULL)`;
  }

  mark(runId: string, settings: PipelineSettings): void {
    this.host.sql`INSERT OR IGNORE INTO staged_loads (run_id, pipeline, destination) VALUES (${runId}, ${settings.pipeline}, ${JSON.stringify(settings.destination)})`;
  }

  marked(): string[] {
    return this.host.sql<{ run_id: string }>`SELECT run_id FROM staged_loads`.map((row) => row.run_id);
  }

  /** Drops the run's staging (its rows never reach the destination); kept marked when the destination cannot be reached. */
  async drop(runId: string): Promise<void> {
    const [row] = this.host.sql<{ pipeline: string; destination: string }>`SELECT pipeline, destination FROM staged_loads WHERE run_id = ${runId}`;
    if (!row) return;
    try {
      const destination = JSON.parse(row.destination) as PipelineSettings["destination"];
      const staging = destinationKindOf(destination).staging;
      if (staging) await staging(destination, { env: this.host.env as unknown as Record<string, unknown>, pipeline: row.pipeline, runId, loadedAt: 0 }).discard();
      this.host.sql`DELETE FROM staged_loads WHERE run_id = ${runId}`;
    } catch (error) {
      this.host.log("staged_load_undropped", runId, { error: String(error) });
    }
  }
}
