import { NOTHING_STAGED, type StageReport } from "../../domain/run";
import type { RawRecord } from "../../domain/records";
import { SAMPLE_RECORDS } from "../../domain/sample-source";
import { fetchJsonRecords } from "../../sources/http-source";
import { ChunkWriter } from "../../staging/staging-store";
import { StageAgent } from "./stage-agent";
import type { StageContext, StageTask } from "./stage-task";
import { yieldToEventLoop } from "./yield";

/** Reads the source and stages its records, untouched, for the transform stage. */
export class ExtractStage extends StageAgent {
  protected async perform(task: StageTask, { signal, progress }: StageContext): Promise<StageReport> {
    const records = await this.readSource(task, signal);
    const writer = new ChunkWriter(this.env.STAGING, task.runId, "extract", task.attempt, "part", task.settings.chunkRecords);
    for (const record of records) {
      await writer.add(record);
      if (writer.written % task.settings.chunkRecords === 0) {
        signal.throwIfAborted();
        progress({ inputCount: writer.written, outputCount: writer.written, rejectedCount: 0 });
        await yieldToEventLoop();
      }
    }
    const output = await writer.finish();
    return { inputCount: records.length, outputCount: output.count, rejectedCount: 0, output, rejected: NOTHING_STAGED, rejectedSample: [] };
  }

  private async readSource(task: StageTask, signal: AbortSignal): Promise<readonly RawRecord[]> {
    const source = task.settings.source;
    switch (source.kind) {
      case "sample":
        return SAMPLE_RECORDS;
      case "http":
        return fetchJsonRecords(source.url, source.timeoutMs, signal);
      default: {
        const unknown: never = source;
        throw new Error(`unknown source ${JSON.stringify(unknown)}`);
      }
    }
  }
}
