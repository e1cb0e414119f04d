import { StageFailure } from "../../domain/failures";
import { rawForStorage, type Rejection, type RejectionSample } from "../../domain/records";
import { bucketOf } from "../../domain/shards";
import { MAX_REJECTED_IN_RUN, type StageCounts, type StageReport } from "../../domain/stage-report";
import { runKey } from "../../domain/stages";
import { localDate } from "../../domain/local-time";
import { applyTransform, keyOf, TransformCrashed } from "../../engine/apply-transform";
import { ContractTally } from "../../engine/contract";
import { CheckTally } from "../../engine/check-tally";
import { resolveChecks } from "../../engine/checks";
import { stagedRow } from "../../engine/staged-row";
import { deployment } from "../../pipelines";
import { destinationKindOf } from "../../destinations";
import { UnparsableItem } from "../../staging/ndjson";
import { ChunkWriter } from "../../staging/staging-store";
import type { ChunkFeed } from "../../staging/chunk-feed";
import type { StageTask } from "./stage-task";
import { Yielder } from "./yield";

/**
 * One transform of a range of extracted chunks, fed a chunk at a time: its record schema, its transform,
 * a check of each row against the destination's columns. Rows are split into one bucket per load shard
 * by a hash of their key, so every occurrence of a key reaches the same load agent, which finds
 * duplicates. Refused records are staged with their reason; skipped ones are counted.
 *
 * Feeding it is the caller's: staged chunks read in order, or chunks as extract writes them. A follower
 * whose extract starts its read over drops this pass and starts a new one (its writers reuse the keys).
 */
export class TransformPass {
  private readonly pipeline;
  private readonly context;
  private readonly buckets: number;
  private readonly kind;
  private readonly slotDate: string;
  private readonly cleaned: ChunkWriter[];
  private readonly tally: CheckTally | null;
  private readonly keyWriters: ChunkWriter[];
  private readonly refused: ChunkWriter;
  private readonly watermarkIndex: number;
  private readonly sample: RejectionSample[] = [];
  private readonly yielder = new Yielder();
  /** Unknown fields the records carry, per field (the contract's known fields are found once, not per record). */
  private readonly drift;
  private inputCount = 0;
  private outputCount = 0;
  private skippedCount = 0;
  private rejectedHere = 0;
  private newest: string | number | null = null;

  constructor(
    staging: R2Bucket,
    private readonly task: StageTask,
    private readonly progress: (counts: StageCounts) => void,
    /** Announces each chunk of rows as it is staged, for a load that follows (one load bucket only). */
    feed: ChunkFeed | null = null,
  ) {
    this.pipeline = deployment.require(task.settings.pipeline);
    const { chunkRecords, parallelism, destination, config } = task.settings;
    this.context = { runId: task.runId, pipeline: this.pipeline.name, trigger: task.trigger, scheduledFor: task.scheduledFor, asOf: task.asOf, timezone: task.settings.schedule.timezone, config, params: task.params };
    this.buckets = parallelism.load;
    this.kind = destinationKindOf(destination);
    this.slotDate = localDate(task.asOf, task.settings.schedule.timezone);
    const key = runKey(task.settings.pipeline, task.runId);
    const prefix = task.shards > 1 ? `shard-${task.shard}/` : "";
    this.cleaned = Array.from({ length: this.buckets }, (_, bucket) => new ChunkWriter(staging, key, "transform", task.attempt, this.buckets > 1 ? `${prefix}b${bucket}-part` : `${prefix}part`, chunkRecords));
    const checks = resolveChecks(this.pipeline.checks);
    // The dataset checks' tally, and one writer per partition for the keys of the checks that compare rows by value.
    this.tally =
      checks.length > 0
        ? new CheckTally(checks, destination.columns, destination.key, parallelism.transform, { pipeline: this.pipeline.name, table: this.kind.lookups ? this.kind.lookups.table(this.pipeline.destination as never) : null })
        : null;
    this.keyWriters = this.tally?.partitioned ? Array.from({ length: parallelism.transform }, (_, partition) => new ChunkWriter(staging, key, "transform", task.attempt, `${prefix}checks-p${partition}-part`, chunkRecords)) : [];
    this.refused = new ChunkWriter(staging, key, "transform", task.attempt, `${prefix}rejected`, chunkRecords);
    if (feed && this.buckets === 1) this.cleaned[0]!.onFlush = (chunk) => feed.publish(chunk);
    const watermark = task.settings.watermark;
    this.watermarkIndex = watermark ? destination.columns.findIndex((column) => column.name === watermark.column) : -1;
    this.drift = ContractTally.of(this.pipeline);
  }

  /** Transforms one chunk of extracted items, the first at position `offset` of the run's input. */
  async chunk({ offset, records }: { offset: number; records: unknown[] }): Promise<void> {
    const { destination } = this.task.settings;
    let received = 0;
    for (const [index, raw] of records.entries()) {
      const position = offset + index;
      if (raw instanceof UnparsableItem) {
        // Refused by extract (counted there); recorded here, where the rejections of this range are written.
        await this.refused.add({ position, id: null, stage: "extract", reason: raw.reason, raw: raw.raw } satisfies Rejection);
        continue;
      }
      received += 1;
      let outcome;
      try {
        outcome = applyTransform(this.pipeline, destination, raw, this.context, this.drift, position);
      } catch (error) {
        if (error instanceof TransformCrashed) throw new StageFailure(`${error.message} (record at position ${position})`, "permanent");
        throw error;
      }
      switch (outcome.kind) {
        case "row": {
          const bucket = this.buckets === 1 ? 0 : bucketOf(this.kind.bucketKey ? this.kind.bucketKey(destination, outcome.values, this.slotDate) : JSON.stringify(keyOf(destination, outcome.values)), this.buckets);
          await this.cleaned[bucket]!.add(stagedRow(position, outcome.id, outcome.values));
          this.tally?.row(position, outcome.id, outcome.values);
          this.outputCount += 1;
          if (this.watermarkIndex >= 0) this.newest = newer(this.newest, outcome.values[this.watermarkIndex]);
          break;
        }
        case "rejected": {
          await this.refused.add({ position, id: outcome.id, stage: "transform", reason: outcome.reason, raw: rawForStorage(raw) } satisfies Rejection);
          this.rejectedHere += 1;
          if (this.sample.length < MAX_REJECTED_IN_RUN) this.sample.push({ position, id: outcome.id, stage: "transform", reason: outcome.reason });
          break;
        }
        case "skipped":
          this.skippedCount += 1;
          break;
      }
    }
    for (const [partition, writer] of this.keyWriters.entries()) for (const key of this.tally!.take(partition)) await writer.add(key);
    this.inputCount += received;
    this.progress({ inputCount: this.inputCount, outputCount: this.outputCount, rejectedCount: this.rejectedHere });
    await this.yielder.after(records.length);
  }

  async finish(): Promise<StageReport> {
    const output = await Promise.all(this.cleaned.map((writer) => writer.finish()));
    const rejected = await this.refused.finish();
    const contract = this.drift.summary();
    const keys = await Promise.all(this.keyWriters.map((writer) => writer.finish()));
    const newest = this.newest;
    return {
      inputCount: this.inputCount,
      outputCount: this.outputCount,
      rejectedCount: this.rejectedHere,
      skippedCount: this.skippedCount,
      output,
      rejected,
      rejectedSample: this.sample,
      newestWatermark: newest === null ? null : typeof newest === "number" ? new Date(newest).toISOString() : newest,
      ...(contract ? { contract } : {}),
      ...(this.tally ? { checks: { tally: this.tally.result(), keys } } : {}),
    };
  }
}

/** The newer of two watermark values: ISO text compares as text, epoch numbers as numbers. */
function newer(current: string | number | null, value: unknown): string | number | null {
  if (typeof value !== "string" && typeof value !== "number") return current;
  if (current === null) return value;
  return typeof value === typeof current && value > current ? value : current;
}
