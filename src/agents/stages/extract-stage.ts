import { NOTHING_STAGED, type StageReport } from "../../domain/run";
import type { RawRecord } from "../../domain/records";
import { SAMPLE_RECORDS } from "../../domain/sample-source";
import { fetchJsonRecords } from "../../sources/http-source";
import { ChunkWriter } from "../../staging/staging-store";
import { StageAgent } from "./stage-agent";
import type { StageTask } from "./stage-task";

/** Reads the source and stages its records, untouched, for the transform stage. */
export class ExtractStage extends StageAgent {
  protected async perform(task: StageTask): Promise<StageReport> {
    const records = await this.readSource(task);
    const writer = new ChunkWriter(this.env.STAGING, task.runId, "extract", "part", task.settings.chunkRecords);
    for (const record of records) await writer.add(record);
    const output = await writer.finish();
    return {
      inputCount: records.length,
      outputCount: output.count,
      rejectedCount: 0,
      output,
      rejected: NOTHING_STAGED,
      rejectedSample: [],
    };
  }

  private async readSource(task: StageTask): Promise<readonly RawRecord[]> {
    const source = task.settings.source;
    switch (source.kind) {
      case "sample":
        return SAMPLE_RECORDS;
      case "http":
        return fetchJsonRecords(source.url, source.timeoutMs);
      default: {
        const unknown: never = source;
        throw new Error(`unknown source ${JSON.stringify(unknown)}`);
      }
    }
  }
}
