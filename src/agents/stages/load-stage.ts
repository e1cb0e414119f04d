import { saveRejections, upsertMetrics } from "../../db/metrics";
import type { CleanRecord, Rejection } from "../../domain/records";
import { NOTHING_STAGED, type StageReport } from "../../domain/run";
import { readStaged } from "../../staging/staging-store";
import { StageAgent } from "./stage-agent";
import type { StageTask } from "./stage-task";

/**
 * Writes the cleaned records to D1 (`metrics`, an upsert by record id) and every record refused by an
 * earlier stage to `rejected_records`. Both writes are keyed, so loading the same run twice changes nothing.
 */
export class LoadStage extends StageAgent {
  protected async perform(task: StageTask): Promise<StageReport> {
    const { pipeline } = task.settings;
    const now = Date.now();
    let loaded = 0;
    for await (const chunk of readStaged(this.env.STAGING, task.input.records)) {
      loaded += await upsertMetrics(this.env.DB, pipeline, task.runId, chunk.records as CleanRecord[], now);
    }
    for (const staged of task.input.rejected) {
      for await (const chunk of readStaged(this.env.STAGING, staged)) {
        await saveRejections(this.env.DB, pipeline, task.runId, chunk.records as Rejection[], now);
      }
    }
    return {
      inputCount: task.input.records.count,
      outputCount: loaded,
      rejectedCount: 0,
      output: NOTHING_STAGED,
      rejected: NOTHING_STAGED,
      rejectedSample: [],
    };
  }
}
