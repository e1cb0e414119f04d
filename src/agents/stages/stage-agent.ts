import { Agent } from "agents";
import type { StageReport } from "../../domain/run";
import { StageFailure } from "../../domain/stage-failure";
import type { StageOutcome, StageTask } from "./stage-task";

const SELF_DESTRUCT = "selfDestruct";

/**
 * An ephemeral stage agent: it lives for one stage of one run (its name is `<runId>:<stage>`), reports
 * its result to the coordinator that called it, and then deletes itself and all of its storage.
 */
export abstract class StageAgent extends Agent<Env> {
  protected abstract perform(task: StageTask): Promise<StageReport>;

  async runStage(task: StageTask): Promise<StageOutcome> {
    // What this instance is working on, for anyone inspecting it mid-run; destroy() removes it with the rest.
    this.sql`CREATE TABLE IF NOT EXISTS stage_task (run_id TEXT NOT NULL, stage TEXT NOT NULL, attempt INTEGER NOT NULL, started_at INTEGER NOT NULL)`;
    this.sql`INSERT INTO stage_task (run_id, stage, attempt, started_at) VALUES (${task.runId}, ${task.stage}, ${task.attempt}, ${Date.now()})`;
    try {
      return { ok: true, report: await this.perform(task) };
    } catch (error) {
      if (!(error instanceof StageFailure)) {
        console.error(JSON.stringify({ event: "stage_error", runId: task.runId, stage: task.stage, error: String(error) }));
      }
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    } finally {
      // Destroy from an alarm rather than here: destroy() aborts the object, which would cut off the
      // reply the coordinator is waiting for.
      await this.schedule(0, SELF_DESTRUCT);
    }
  }

  async selfDestruct(): Promise<void> {
    await this.destroy();
  }
}
