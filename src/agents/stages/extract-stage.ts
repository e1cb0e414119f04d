import type { HttpSource, PipelineSettings, SourceSettings } from "../../config/settings";
import { backoffDelay } from "../../domain/backoff";
import { classifyErrorMessage, StageFailure } from "../../domain/failures";
import type { RejectionSample } from "../../domain/records";
import { MAX_REJECTED_IN_RUN, NOTHING_STAGED, type SourceReport, type StageReport } from "../../domain/run";
import { SAMPLE_RECORDS } from "../../domain/sample-source";
import { readHttpSource, type PagesRead } from "../../sources/http-source";
import type { SourceItem } from "../../sources/source-items";
import { UnparsableItem } from "../../staging/ndjson";
import { ChunkWriter } from "../../staging/staging-store";
import { StageAgent } from "./stage-agent";
import type { StageContext, StageTask } from "./stage-task";
import { Yielder } from "./yield";

/**
 * Reads the pipeline's sources and stages their records, untouched, for the transform stage. Records
 * stream through: a payload is never held whole. Each source gets the configured number of tries (a try
 * starts the source over from its first page); when one gives up, the next source in the list is tried,
 * and the run records which source served the data and why the others were passed over.
 */
export class ExtractStage extends StageAgent {
  protected async perform(task: StageTask, context: StageContext): Promise<StageReport> {
    const { settings } = task;
    const skipped: SourceReport["skipped"] = [];
    for (const source of settings.sources) {
      const errors: string[] = [];
      for (let attempt = 1; attempt <= settings.retry.maxAttempts; attempt += 1) {
        try {
          return await this.readOnce(task, source, context, attempt, errors, skipped);
        } catch (error) {
          if (context.signal.aborted) throw context.signal.reason;
          const failure = asStageFailure(error);
          errors.push(failure.message);
          if (failure.kind === "permanent") break;
          if (attempt < settings.retry.maxAttempts) await sleep(backoffDelay(attempt, settings.retry), context.signal);
        }
      }
      skipped.push({ name: source.name, reason: errors.length > 1 ? `${errors.at(-1)} (after ${errors.length} tries)` : (errors[0] ?? "failed") });
    }
    // Every source had its tries already: another stage attempt would only repeat them.
    throw new StageFailure(
      skipped.length === 1 ? skipped[0]!.reason : `every source failed: ${skipped.map((entry) => `${entry.name}: ${entry.reason}`).join("; ")}`,
      "permanent",
    );
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
    const items = new ChunkWriter(this.env.STAGING, task.runId, "extract", task.attempt, "part", settings.chunkRecords);
    const sample: RejectionSample[] = [];
    let position = 0;
    let unparsable = 0;
    const watermark = this.watermarkFor(settings, task.watermark);

    const stream = this.open(source, settings, watermark, signal);
    const yielder = new Yielder();
    let read: PagesRead | { pages: number; truncated: boolean; firstUrl: string | null };
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        read = next.value;
        break;
      }
      for (const item of next.value) {
        if (item.ok) await items.add(item.record);
        else {
          await items.add(new UnparsableItem(item.raw, item.reason));
          unparsable += 1;
          if (sample.length < MAX_REJECTED_IN_RUN) sample.push({ position, id: null, stage: "extract", reason: item.reason });
        }
        position += 1;
      }
      signal.throwIfAborted();
      progress({ inputCount: position, outputCount: position - unparsable, rejectedCount: unparsable });
      await yielder.after(next.value.length);
    }
    const output = await items.finish();
    const report: SourceReport = {
      name: source.name,
      kind: source.kind,
      url: source.kind === "http" ? read.firstUrl : null,
      format: source.kind === "http" ? source.format : null,
      pages: read.pages,
      truncated: read.truncated,
      watermark: source.kind === "http" && watermark ? watermark.value : null,
      attempts: attempt,
      attemptErrors: [...errors],
      skipped,
    };
    return { inputCount: position, outputCount: position - unparsable, rejectedCount: unparsable, output: [output], rejected: NOTHING_STAGED, rejectedSample: sample, source: report };
  }

  private open(
    source: SourceSettings,
    settings: PipelineSettings,
    watermark: { param: string; value: string } | null,
    signal: AbortSignal,
  ): AsyncGenerator<SourceItem[], { pages: number; truncated: boolean; firstUrl: string | null }> {
    if (source.kind === "sample") return sampleItems();
    return readHttpSource(source as HttpSource, {
      secrets: this.env as unknown as Record<string, unknown>,
      watermark,
      requiredColumns: [settings.fields.id, settings.fields.value, settings.fields.timestamp],
      signal,
    });
  }

  private watermarkFor(settings: PipelineSettings, value: string | null): { param: string; value: string } | null {
    if (!settings.watermark || value === null) return null;
    const formatted = settings.watermark.format === "epoch-ms" ? String(Date.parse(value)) : value;
    return { param: settings.watermark.param, value: formatted };
  }
}

async function* sampleItems(): AsyncGenerator<SourceItem[], { pages: number; truncated: boolean; firstUrl: null }> {
  yield SAMPLE_RECORDS.map((record) => ({ ok: true, record }));
  return { pages: 1, truncated: false, firstUrl: null };
}

function asStageFailure(error: unknown): StageFailure {
  if (error instanceof StageFailure) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StageFailure(message, classifyErrorMessage(message));
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
