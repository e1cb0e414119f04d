import type { PipelineSettings } from "../../engine/settings";
import { deployment } from "../../pipelines";
import { sourceKindOf, type SourceSettings } from "../../sources";
import type { SourceRead } from "../../sources/kind";
import { nextTry } from "../../domain/retry-policy";
import { classifyError, MEMORY_ADVICE, SourcesFailed, StageFailure } from "../../domain/failures";
import { rawForStorage, type RejectionSample } from "../../domain/records";
import { redactText } from "../../domain/redaction";
import { MAX_REJECTED_IN_RUN, type SourceReport, type StageReport } from "../../domain/stage-report";
import { NOTHING_STAGED } from "../../domain/staged-data";
import { runValues } from "../../sources/placeholders";
import { localDate } from "../../domain/local-time";
import type { SourceItem } from "../../sources/source-items";
import { UnparsableItem } from "../../staging/ndjson";
import { ChunkWriter, UnstorableRecord } from "../../staging/staging-store";
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
  protected async perform(task: StageTask, context: StageContext): Promise<StageReport> {
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

  private async readOnce(
    task: StageTask,
    source: SourceSettings,
    { signal, progress }: StageContext,
    attempt: number,
    errors: string[],
    skipped: SourceReport["skipped"],
  ): Promise<StageReport> {
    const { settings } = task;
    // Each try starts over under the same keys, so a failed try leaves nothing the manifest points to.
    // Unparsable input stays in the stream, in its place (transform turns it into rejections), so the
    // items' positions in the chunks are exactly their positions in the run.
    const items = new ChunkWriter(this.env.STAGING, runKey(task.settings.pipeline, task.runId), "extract", task.attempt, "part", settings.chunkRecords);
    const sample: RejectionSample[] = [];
    let position = 0;
    let unparsable = 0;

    const stream = this.open(source, task, signal);
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
    const report: SourceReport = { ...this.describe(source, task, read), served: true, attempts: attempt, attemptErrors: [...errors], skipped };
    return { inputCount: position, outputCount: position - unparsable, rejectedCount: unparsable, output: [output], rejected: NOTHING_STAGED, rejectedSample: sample, source: report };
  }

  private open(source: SourceSettings, task: StageTask, signal: AbortSignal): AsyncGenerator<SourceItem[], SourceRead> {
    const { settings, watermark } = task;
    return sourceKindOf(source).read(source, {
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
      reprocess: false,
      shard: task.shard,
      shards: task.shards,
      signal,
    });
  }

  /** The parts of a source report that do not depend on how the read went. */
  private describe(source: SourceSettings, task: StageTask, read: SourceRead | null): Omit<SourceReport, "attempts" | "attemptErrors" | "skipped"> {
    const { settings, watermark } = task;
    const shown = sourceKindOf(source).describe(source, { runValues: valuesOf(task), watermark: watermarkParam(settings, watermark) });
    return {
      name: source.name,
      served: false,
      kind: source.kind,
      url: read?.firstUrl ?? shown.url,
      format: shown.format,
      pages: read?.pages ?? 0,
      truncated: read?.truncated ?? false,
      watermark: shown.watermark,
      ...(read?.objects ? { objects: read.objects } : {}),
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

function watermarkParam(settings: PipelineSettings, value: string | null): { param: string; value: string } | null {
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
