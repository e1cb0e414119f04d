import { saveRejections, upsertMetrics } from "../../db/metrics";
import { classifyErrorMessage, StageFailure } from "../../domain/failures";
import type { CleanRecord, Rejection } from "../../domain/records";
import { NOTHING_STAGED, type StageReport } from "../../domain/run";
import { readStaged } from "../../staging/staging-store";
import { StageAgent } from "./stage-agent";
import type { StageContext, StageTask } from "./stage-task";
import { yieldToEventLoop } from "./yield";

/**
 * Writes the cleaned records to D1 (`metrics`, an upsert by record id) and every record refused by an
 * earlier stage to `rejected_records`. Both writes are keyed, so loading the same run twice (a retry,
 * a resumed run) changes nothing.
 */
export class LoadStage extends StageAgent {
  protected async perform(task: StageTask, { signal, progress }: StageContext): Promise<StageReport> {
    const { pipeline } = task.settings;
    const now = Date.now();
    let loaded = 0;
    for await (const chunk of readStaged(this.env.STAGING, task.input.records)) {
      signal.throwIfAborted();
      loaded += await d1(() => upsertMetrics(this.env.DB, pipeline, task.runId, chunk.records as CleanRecord[], now));
      progress({ inputCount: task.input.records.count, outputCount: loaded, rejectedCount: 0 });
      await yieldToEventLoop();
    }
    for (const staged of task.input.rejected) {
      for await (const chunk of readStaged(this.env.STAGING, staged)) {
        signal.throwIfAborted();
        await d1(() => saveRejections(this.env.DB, pipeline, task.runId, chunk.records as Rejection[], now));
      }
    }
    return { inputCount: task.input.records.count, outputCount: loaded, rejectedCount: 0, output: NOTHING_STAGED, rejected: NOTHING_STAGED, rejectedSample: [] };
  }
}

/** D1 errors arrive as plain Errors; say which ones are worth another attempt. */
async function d1<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new StageFailure(`D1 write failed: ${message}`, classifyErrorMessage(message));
  }
}
