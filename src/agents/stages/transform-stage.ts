import { rawForStorage, type Rejection, type RejectionSample, type StagedRecord } from "../../domain/records";
import { MAX_REJECTED_IN_RUN, type StageReport } from "../../domain/run";
import { bucketOf } from "../../domain/shards";
import { transformRecord } from "../../domain/transform";
import { UnparsableItem } from "../../staging/ndjson";
import { ChunkWriter, readStaged } from "../../staging/staging-store";
import { StageAgent } from "./stage-agent";
import type { StageContext, StageTask } from "./stage-task";
import { Yielder } from "./yield";

/**
 * Validates, maps and categorises a range of extracted chunks; refused records are staged with their
 * reason. Clean records are split into one bucket per load shard by a hash of their id, so every
 * occurrence of an id reaches the same load agent, which finds duplicates.
 */
export class TransformStage extends StageAgent {
  protected async perform(task: StageTask, { signal, progress }: StageContext): Promise<StageReport> {
    const { chunkRecords, fields, thresholds, rules, parallelism } = task.settings;
    const buckets = parallelism.load;
    const prefix = task.shards > 1 ? `shard-${task.shard}/` : "";
    const cleaned = Array.from(
      { length: buckets },
      (_, bucket) => new ChunkWriter(this.env.STAGING, task.runId, "transform", task.attempt, buckets > 1 ? `${prefix}b${bucket}-part` : `${prefix}part`, chunkRecords),
    );
    const refused = new ChunkWriter(this.env.STAGING, task.runId, "transform", task.attempt, `${prefix}rejected`, chunkRecords);
    const sample: RejectionSample[] = [];
    let inputCount = 0;
    let outputCount = 0;
    let maxTimestamp: string | null = null;
    let rejectedHere = 0;
    const yielder = new Yielder();

    for await (const chunk of readStaged(this.env.STAGING, task.input.records[0]!, task.offset)) {
      signal.throwIfAborted();
      let received = 0;
      for (const [index, raw] of chunk.records.entries()) {
        const position = chunk.offset + index;
        if (raw instanceof UnparsableItem) {
          // Refused by extract (counted there); recorded here, where the rejections of this range are written.
          await refused.add({ position, id: null, stage: "extract", reason: raw.reason, raw: raw.raw } satisfies Rejection);
          continue;
        }
        received += 1;
        const result = transformRecord(raw, { fields, thresholds, rules });
        if (result.ok) {
          const staged: StagedRecord = { ...result.record, position };
          await cleaned[bucketOf(staged.id, buckets)]!.add(staged);
          outputCount += 1;
          if (maxTimestamp === null || staged.timestamp > maxTimestamp) maxTimestamp = staged.timestamp;
          continue;
        }
        const rejection: Rejection = { position, id: result.id, stage: "transform", reason: result.reason, raw: rawForStorage(raw) };
        await refused.add(rejection);
        rejectedHere += 1;
        if (sample.length < MAX_REJECTED_IN_RUN) sample.push({ position, id: result.id, stage: "transform", reason: result.reason });
      }
      inputCount += received;
      progress({ inputCount, outputCount, rejectedCount: rejectedHere });
      await yielder.after(chunk.records.length);
    }

    const output = await Promise.all(cleaned.map((writer) => writer.finish()));
    const rejected = await refused.finish();
    return { inputCount, outputCount, rejectedCount: rejectedHere, output, rejected, rejectedSample: sample, maxTimestamp };
  }
}
