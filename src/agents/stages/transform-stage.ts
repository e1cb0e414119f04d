import { rawForStorage, type Rejection, type RejectionSummary } from "../../domain/records";
import { MAX_REJECTED_IN_RUN, type StageReport } from "../../domain/run";
import { transformRecord } from "../../domain/transform";
import { ChunkWriter, readStaged } from "../../staging/staging-store";
import { StageAgent } from "./stage-agent";
import type { StageTask } from "./stage-task";

/** Validates and categorises every extracted record; refused records are staged with their reason. */
export class TransformStage extends StageAgent {
  protected async perform(task: StageTask): Promise<StageReport> {
    const { chunkRecords, thresholds } = task.settings;
    const cleaned = new ChunkWriter(this.env.STAGING, task.runId, "transform", "part", chunkRecords);
    const refused = new ChunkWriter(this.env.STAGING, task.runId, "transform", "rejected", chunkRecords);
    const sample: RejectionSummary[] = [];
    let inputCount = 0;

    for await (const chunk of readStaged(this.env.STAGING, task.input.records)) {
      for (const [index, raw] of chunk.records.entries()) {
        inputCount += 1;
        const result = transformRecord(raw, thresholds);
        if (result.ok) {
          await cleaned.add(result.record);
          continue;
        }
        const rejection: Rejection = {
          position: chunk.offset + index,
          id: result.id,
          stage: "transform",
          reason: result.reason,
          raw: rawForStorage(raw),
        };
        await refused.add(rejection);
        if (sample.length < MAX_REJECTED_IN_RUN) sample.push({ id: result.id, stage: "transform", reason: result.reason });
      }
    }

    const output = await cleaned.finish();
    const rejected = await refused.finish();
    return { inputCount, outputCount: output.count, rejectedCount: rejected.count, output, rejected, rejectedSample: sample };
  }
}
