import { StageFailure } from "../../domain/failures";
import { rawForStorage, type Rejection, type RejectionSample } from "../../domain/records";
import { bucketOf } from "../../domain/shards";
import { MAX_REJECTED_IN_RUN, type StageReport } from "../../domain/stage-report";
import { applyTransform, keyOf, TransformCrashed } from "../../engine/apply-transform";
import { ContractTally } from "../../engine/contract";
import { deployment } from "../../pipelines";
import { destinationKindOf } from "../../destinations";
import { localDate } from "../../domain/local-time";
import { stagedRow } from "../../engine/staged-row";
import { UnparsableItem } from "../../staging/ndjson";
import { ChunkWriter, readStaged } from "../../staging/staging-store";
import { runKey } from "../../domain/stages";
import { StageAgent } from "./stage-agent";
import type { StageContext, StageTask } from "./stage-task";
import { Yielder } from "./yield";
import { CheckTally } from "../../engine/check-tally";
import { resolveChecks } from "../../engine/checks";
import { runCheckPassTask } from "./check-pass-task";

/**
 * Runs a range of extracted chunks through the pipeline: its record schema, its transform, a check of
 * each row against the destination's columns. Rows are split into one bucket per load shard by a hash of
 * their key, so every occurrence of a key reaches the same load agent, which finds duplicates. Refused
 * records are staged with their reason; skipped ones are counted.
 */
export class TransformStage extends StageAgent {
  protected async perform(task: StageTask, stage: StageContext): Promise<StageReport> {
    if (task.pass === "checks") return runCheckPassTask(this.env, this.ctx.storage.sql, task, stage);
    const { signal, progress } = stage;
    const pipeline = deployment.require(task.settings.pipeline);
    const { chunkRecords, parallelism, destination, watermark, config } = task.settings;
    const context = { runId: task.runId, pipeline: pipeline.name, trigger: task.trigger, scheduledFor: task.scheduledFor, asOf: task.asOf, timezone: task.settings.schedule.timezone, config, params: task.params };
    const buckets = parallelism.load;
    const kind = destinationKindOf(destination);
    const slotDate = localDate(task.asOf, task.settings.schedule.timezone);
    const prefix = task.shards > 1 ? `shard-${task.shard}/` : "";
    const cleaned = Array.from(
      { length: buckets },
      (_, bucket) => new ChunkWriter(this.env.STAGING, runKey(task.settings.pipeline, task.runId), "transform", task.attempt, buckets > 1 ? `${prefix}b${bucket}-part` : `${prefix}part`, chunkRecords),
    );
    const checks = resolveChecks(pipeline.checks);
    // The dataset checks' tally, and one writer per partition for the keys of the checks that compare rows by value.
    const tally = checks.length > 0 ? new CheckTally(checks, destination.columns, destination.key, parallelism.transform, { pipeline: pipeline.name, table: kind.lookups ? kind.lookups.table(pipeline.destination as never) : null }) : null;
    const keyWriters = tally?.partitioned
      ? Array.from({ length: parallelism.transform }, (_, partition) => new ChunkWriter(this.env.STAGING, runKey(task.settings.pipeline, task.runId), "transform", task.attempt, `${prefix}checks-p${partition}-part`, chunkRecords))
      : [];
    const refused = new ChunkWriter(this.env.STAGING, runKey(task.settings.pipeline, task.runId), "transform", task.attempt, `${prefix}rejected`, chunkRecords);
    const watermarkIndex = watermark ? destination.columns.findIndex((column) => column.name === watermark.column) : -1;
    const sample: RejectionSample[] = [];
    let inputCount = 0;
    let outputCount = 0;
    let skippedCount = 0;
    let rejectedHere = 0;
    let newest: string | number | null = null;
    const yielder = new Yielder();
    // Unknown fields the records carry, per field (the contract's known fields are found once, not per record).
    const drift = ContractTally.of(pipeline);

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
        let outcome;
        try {
          outcome = applyTransform(pipeline, destination, raw, context, drift, position);
        } catch (error) {
          if (error instanceof TransformCrashed) throw new StageFailure(`${error.message} (record at position ${position})`, "permanent");
          throw error;
        }
        switch (outcome.kind) {
          case "row": {
            const bucket = buckets === 1 ? 0 : bucketOf(kind.bucketKey ? kind.bucketKey(destination, outcome.values, slotDate) : JSON.stringify(keyOf(destination, outcome.values)), buckets);
            await cleaned[bucket]!.add(stagedRow(position, outcome.id, outcome.values));
            tally?.row(position, outcome.id, outcome.values);
            outputCount += 1;
            if (watermarkIndex >= 0) newest = newer(newest, outcome.values[watermarkIndex]);
            break;
          }
          case "rejected": {
            await refused.add({ position, id: outcome.id, stage: "transform", reason: outcome.reason, raw: rawForStorage(raw) } satisfies Rejection);
            rejectedHere += 1;
            if (sample.length < MAX_REJECTED_IN_RUN) sample.push({ position, id: outcome.id, stage: "transform", reason: outcome.reason });
            break;
          }
          case "skipped":
            skippedCount += 1;
            break;
        }
      }
      for (const [partition, writer] of keyWriters.entries()) for (const key of tally!.take(partition)) await writer.add(key);
      inputCount += received;
      progress({ inputCount, outputCount, rejectedCount: rejectedHere });
      await yielder.after(chunk.records.length);
    }

    const output = await Promise.all(cleaned.map((writer) => writer.finish()));
    const rejected = await refused.finish();
    const contract = drift.summary();
    const keys = await Promise.all(keyWriters.map((writer) => writer.finish()));
    return {
      inputCount,
      outputCount,
      rejectedCount: rejectedHere,
      skippedCount,
      output,
      rejected,
      rejectedSample: sample,
      newestWatermark: newest === null ? null : typeof newest === "number" ? new Date(newest).toISOString() : newest,
      ...(contract ? { contract } : {}),
      ...(tally ? { checks: { tally: tally.result(), keys } } : {}),
    };
  }
}

/** The newer of two watermark values: ISO text compares as text, epoch numbers as numbers. */
function newer(current: string | number | null, value: unknown): string | number | null {
  if (typeof value !== "string" && typeof value !== "number") return current;
  if (current === null) return value;
  return typeof value === typeof current && value > current ? value : current;
}
