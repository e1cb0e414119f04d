import type { PipelineSettings } from "../../engine/settings";
import { deployment } from "../../pipelines";
import { sourceKindOf, type SourceSettings } from "../../sources";
import type { SourceObject, SourceRead, SourceReadContext } from "../../sources/kind";
import { nextTry } from "../../domain/retry-policy";
import { classifyError, MEMORY_ADVICE, SourcesFailed, StageFailure } from "../../domain/failures";
import { rawForStorage, type RejectionSample } from "../../domain/records";
import { redactText } from "../../domain/redaction";
import { MAX_OBJECTS_IN_RUN, MAX_REJECTED_IN_RUN, mergeReports, type SourceReport, type StageReport } from "../../domain/stage-report";
import { concatStaged, NOTHING_STAGED } from "../../domain/staged-data";
import { shardInstanceName } from "../../domain/shards";
import { runValues } from "../../sources/placeholders";
import { localDate } from "../../domain/local-time";
import { UnparsableItem } from "../../staging/ndjson";
import { ChunkWriter, UnstorableRecord } from "../../staging/staging-store";
import type { FeedNews } from "../../staging/chunk-feed";
import { FeedKeeper } from "./feeds";
import { runKey } from "../../domain/stages";
import { StageAgent } from "./stage-agent";
import type { StageContext, StageTask } from "./stage-task";
import { Yielder } from "./yield";

/**
 * Reads the pipeline's sources and stages their records, untouched, for the transform stage. Records
 * stream through: a payload is never held whole. Each source gets the configured number of tries (a try
 * starts the source over from its first page), waiting between them as long as the backoff says, or as
 * the source's `Retry-After` asks (within `retries.maxDelayMs` and the stage's time); when one gives up,
 * the next source in the list is tried. The run records which source served the data and why the others
 * were passed over, and when every source failed, what was tried.
 */
export class ExtractStage extends StageAgent {
  /** Each attempt's staged chunks as they are written, for a transform that follows it (by attempt). */
  private readonly feeds = new FeedKeeper();

  /**
   * A following transform's long poll: the chunks of attempt `attempt` after the first `from` of read
   * `generation`, or how the attempt ended; an empty batch after `waitMs` (the follower asks again).
   */
  async feedNext(attempt: number, generation: number, from: number, waitMs: number): Promise<FeedNews> {
    return this.feeds.next(attempt, generation, from, waitMs);
  }

  protected async perform(task: StageTask, context: StageContext): Promise<StageReport> {
    if (task.share) return this.readShare(task, context);
    const feed = this.feeds.of(task.attempt);
    feed.begin();
    try {
      const report = await this.readSources(task, context);
      feed.finish(report.output[0] ?? NOTHING_STAGED);
      return report;
    } catch (error) {
      feed.fail(error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  /** A transform following an attempt has not heard how it ended: the feed, in memory, stays for it. */
  protected override awaited(now: number): boolean {
    return this.feeds.awaited(now);
  }

  private async readSources(task: StageTask, context: StageContext): Promise<StageReport> {
    const { settings } = task;
    const deadline = Date.now() + settings.stageTimeoutMs;
    const skipped: SourceReport["skipped"] = [];
    let last: SourceReport | null = null;
    for (const source of settings.sources) {
      const errors: string[] = [];
      let attempts = 0;
      for (let attempt = 1; attempt <= settings.retry.source.maxAttempts; attempt += 1) {
        attempts = attempt;
        try {
          return await this.readOnce(task, source, context, attempt, errors, skipped);
        } catch (error) {
          if (context.signal.aborted) throw context.signal.reason;
          const failure = asStageFailure(error, settings, this.secretValues(source));
          errors.push(failure.message);
          const next = nextTry(settings.retry.source, attempt, { retryable: failure.kind === "transient", retryAfterMs: failure.retryAfterMs, remainingMs: deadline - Date.now() });
          if (!next.again) break;
          await sleep(next.delayMs, context.signal);
        }
      }
      const reason = errors.length > 1 ? `${errors.at(-1)} (after ${errors.length} tries)` : (errors[0] ?? "failed");
      last = { ...this.describe(source, task, null), attempts, attemptErrors: errors, skipped: [...skipped] };
      skipped.push({ name: source.name, reason });
    }
    // Every source had its tries already: another stage attempt would only repeat them.
    const message = skipped.length === 1 ? skipped[0]!.reason : `every source failed: ${skipped.map((entry) => `${entry.name}: ${entry.reason}`).join("; ")}`;
    throw new SourcesFailed(message, last!);
  }

  /**
   * One try of one source. A kind that plans its read (an object source) may share it out: readers after
   * the first are sibling extract agents, working side by side, each staging its own chunks; their
   * outputs follow each other in share order, so positions are the run's, in key order.
   */
  private async readOnce(task: StageTask, source: SourceSettings, context: StageContext, attempt: number, errors: string[], skipped: SourceReport["skipped"]): Promise<StageReport> {
    const kind = sourceKindOf(source);
    const plan = kind.plan ? await kind.plan(source, this.readContext(task, null, context.signal)) : null;
    const shares = plan?.shares ?? [null];
    // One reader failing stops the others, and the try ends only when all have: the next try (same
    // attempt, same chunk keys) never overlaps with this one's readers.
    const stop = new AbortController();
    const signal = AbortSignal.any([context.signal, stop.signal]);
    const settled = await Promise.allSettled(
      shares.map((share, index) =>
        (index === 0 ? this.readPart(task, source, share, 0, { ...context, signal }) : this.helperRead(task, source, share, index, shares.length, signal)).catch((error: unknown) => {
          stop.abort(error);
          throw error;
        }),
      ),
    );
    const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
    if (failed) throw context.signal.aborted ? context.signal.reason : stop.signal.reason;
    const parts = settled.map((outcome) => (outcome as PromiseFulfilledResult<StageReport>).value);
    let offset = 0;
    const sample: RejectionSample[] = [];
    const objects: SourceObject[] = [...(plan?.passedOver ?? [])];
    for (const part of parts) {
      for (const entry of part.rejectedSample) if (sample.length < MAX_REJECTED_IN_RUN) sample.push({ ...entry, position: entry.position + offset });
      for (const object of part.source?.objects ?? []) objects.push({ ...object, firstPosition: object.firstPosition === null ? null : object.firstPosition + offset });
      offset += part.inputCount;
    }
    const merged = mergeReports(parts);
    // Each reader lists only its first objects; the totals are the readers' own counts.
    const objectCounts = {
      read: parts.reduce((sum, part) => sum + (part.source?.objectCounts?.read ?? 0), 0),
      skipped: (plan?.passedOver.length ?? 0) + parts.reduce((sum, part) => sum + (part.source?.objectCounts?.skipped ?? 0), 0),
    };
    const read: SourceRead = { pages: parts.reduce((sum, part) => sum + (part.source?.pages ?? 0), 0), truncated: parts.some((part) => part.source?.truncated), firstUrl: parts[0]?.source?.url ?? null, ...(plan ? { objects, objectCounts } : {}) };
    const report: SourceReport = { ...this.describe(source, task, read), served: true, attempts: attempt, attemptErrors: [...errors], skipped };
    return { ...merged, output: [concatStaged(parts.map((part) => part.output[0] ?? NOTHING_STAGED))], rejectedSample: sample, source: report };
  }

  /** A helper's work (a task with a share): its share of one source, read once (the lead retries the whole read). */
  private async readShare(task: StageTask, context: StageContext): Promise<StageReport> {
    const source = task.settings.sources.find((candidate) => candidate.name === task.share!.source);
    if (!source) throw new StageFailure(`no source ${task.share!.source} in the run's settings`, "permanent");
    return this.readPart(task, source, task.share!.items, task.shard, context);
  }

  /** Asks sibling extract agent `index` to read a share, stopping it when this attempt stops. */
  private async helperRead(task: StageTask, source: SourceSettings, share: unknown, index: number, shares: number, signal: AbortSignal): Promise<StageReport> {
    const stub = this.env.ExtractStage.getByName(shardInstanceName(runKey(task.settings.pipeline, task.runId), "extract", index));
    const stop = () => void stub.cancelAttempt(task.attempt, String((signal.reason as Error | undefined)?.message ?? "stopped")).catch(() => false);
    signal.addEventListener("abort", stop, { once: true });
    try {
      const outcome = await stub.runStage({ ...task, shard: index, shards: shares, share: { source: source.name, items: share } });
      if (!outcome.ok) throw new StageFailure(`reader ${index + 1} of ${shares}: ${outcome.error}`, outcome.transient ? "transient" : "permanent");
      return outcome.report;
    } finally {
      signal.removeEventListener("abort", stop);
      void stub.dismiss().catch(() => undefined);
    }
  }

  /**
   * Reads one share (or the whole source) into staged chunks. Unparsable input stays in the stream, in its
   * place (transform turns it into rejections), so the items' positions in the chunks are exactly their
   * positions in the share. Each try starts over under the same keys, so a failed try leaves nothing the
   * manifest points to.
   */
  private async readPart(task: StageTask, source: SourceSettings, share: unknown, index: number, { signal, progress }: StageContext): Promise<StageReport> {
    const items = new ChunkWriter(this.env.STAGING, runKey(task.settings.pipeline, task.runId), "extract", task.attempt, index === 0 ? "part" : `shard-${index}/part`, task.settings.chunkRecords);
    // The lead reader's chunks come first in the output, so a follower may start on them now; a helper's
    // reach it with the output once every reader is done.
    if (index === 0 && !task.share) {
      const feed = this.feeds.of(task.attempt);
      feed.restart();
      items.onFlush = (chunk) => feed.publish(chunk);
    }
    const sample: RejectionSample[] = [];
    let position = 0;
    let unparsable = 0;
    const stream = sourceKindOf(source).read(source, this.readContext(task, share, signal));
    const yielder = new Yielder();
    let read: SourceRead;
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        read = next.value;
        break;
      }
      for (const item of next.value) {
        const refused = item.ok ? await addRecord(items, item.record) : item;
        if (refused) {
          await items.add(new UnparsableItem(refused.raw, refused.reason));
          unparsable += 1;
          if (sample.length < MAX_REJECTED_IN_RUN) sample.push({ position, id: null, stage: "extract", reason: refused.reason });
        }
        position += 1;
      }
      signal.throwIfAborted();
      progress({ inputCount: position, outputCount: position - unparsable, rejectedCount: unparsable });
      await yielder.after(next.value.length);
    }
    const output = await items.finish();
    const report: SourceReport = { ...this.describe(source, task, read), served: true, attempts: 1, attemptErrors: [], skipped: [] };
    return { inputCount: position, outputCount: position - unparsable, rejectedCount: unparsable, output: [output], rejected: NOTHING_STAGED, rejectedSample: sample, source: report };
  }

  private readContext(task: StageTask, share: unknown, signal: AbortSignal): SourceReadContext {
    const { settings, watermark } = task;
    return {
      env: this.env as unknown as Record<string, unknown>,
      pipeline: settings.pipeline,
      runId: task.runId,
      sample: deployment.require(settings.pipeline).sample,
      runValues: valuesOf(task),
      slot: { asOf: task.asOf, scheduledFor: task.scheduledFor, date: localDate(task.asOf, settings.schedule.timezone) },
      params: task.params,
      watermark: watermarkParam(settings, watermark),
      requiredColumns: settings.csvColumns,
      maxRecordBytes: settings.maxRecordBytes,
      reread: task.reread ?? false,
      share,
      signal,
    };
  }

  /** The parts of a source report that do not depend on how the read went. */
  private describe(source: SourceSettings, task: StageTask, read: SourceRead | null): Omit<SourceReport, "attempts" | "attemptErrors" | "skipped"> {
    const { settings, watermark } = task;
    const shown = sourceKindOf(source).describe(source, { runValues: valuesOf(task), watermark: watermarkParam(settings, watermark) });
    const objects = read?.objects ? [...read.objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) : null;
    return {
      name: source.name,
      served: false,
      kind: source.kind,
      url: read?.firstUrl ?? shown.url,
      format: shown.format,
      pages: read?.pages ?? 0,
      truncated: read?.truncated ?? false,
      watermark: shown.watermark,
      ...(objects
        ? { objects: objects.slice(0, MAX_OBJECTS_IN_RUN), objectCounts: read?.objectCounts ?? { read: objects.filter((object) => object.records !== null).length, skipped: objects.filter((object) => object.records === null).length } }
        : {}),
    };
  }

  /** Secret values a source uses, to scrub them from any message; none if they are not set (nothing to leak). */
  private secretValues(source: SourceSettings): string[] {
    return sourceKindOf(source).secretValues(source, this.env as unknown as Record<string, unknown>);
  }
}

/** Stages a parsed record; one JSON cannot hold again (nested too deeply) comes back as a refusal instead. */
async function addRecord(items: ChunkWriter, record: unknown): Promise<{ raw: string; reason: string } | null> {
  try {
    await items.add(record);
    return null;
  } catch (error) {
    if (!(error instanceof UnstorableRecord)) throw error;
    return { raw: rawForStorage("[nested too deeply to store]"), reason: error.message };
  }
}

/** The run's `{{slot.*}}` and `{{params.*}}` values. */
function valuesOf(task: StageTask): Record<string, string> {
  return runValues({ asOf: task.asOf, timezone: task.settings.schedule.timezone, params: task.params });
}

function watermarkParam(settings: PipelineSettings, value: string | null): { param: string | null; value: string } | null {
  if (!settings.watermark || value === null) return null;
  const formatted = settings.watermark.format === "epoch-ms" ? String(Date.parse(value)) : value;
  return { param: settings.watermark.param, value: formatted };
}

/** Any error as a stage failure whose message is safe to keep: secrets scrubbed, memory errors with advice. */
function asStageFailure(error: unknown, settings: PipelineSettings, secrets: string[]): StageFailure {
  const classified = classifyError(error);
  const message = redactText(error instanceof Error ? error.message : String(error), secrets);
  if (classified.memory) return new StageFailure(`${message}: ${MEMORY_ADVICE} (now ${settings.chunkRecords})`, "permanent");
  if (error instanceof StageFailure) return message === error.message ? error : new StageFailure(message, error.kind, error.retryAfterMs);
  return new StageFailure(message, classified.kind);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
