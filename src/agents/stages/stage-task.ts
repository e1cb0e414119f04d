import type { RunParams, Trigger } from "../../domain/run";
import type { SourceReport, StageCounts, StageReport } from "../../domain/stage-report";
import type { StageInput } from "../../domain/staged-data";
import type { StageName } from "../../domain/stages";
import type { PipelineSettings } from "../../engine/settings";

/** What the coordinator hands a stage agent: references to staged data, never the records themselves. */
export interface StageTask {
  runId: string;
  trigger: Trigger;
  /** The run's slot (epoch ms), or null for a run without one. */
  scheduledFor: number | null;
  /** The moment the run's data is for (`{{slot.*}}` in source URLs). */
  asOf: number;
  /** The run's parameters (`{{params.*}}`, and the transform's `context.params`). */
  params: RunParams;
  stage: StageName;
  attempt: number;
  /** Which of the stage's agents this is (0-based) and how many work side by side. */
  shard: number;
  shards: number;
  /** Position of this shard's first input record in the run's extracted input. */
  offset: number;
  input: StageInput;
  settings: PipelineSettings;
  /** Extract: the pipeline's watermark from its last successful run, if it uses one. */
  watermark: string | null;
  /** Extract: read again what earlier runs read (a backfill with reprocess "all"). */
  reread?: boolean;
  /** Transform: the dataset checks' partitioned pass over partition `shard` of the check keys (`input.records[0]`), not a transform. */
  pass?: "checks";
  /**
   * Transform: start before extract has finished, on the chunks extract attempt `attempt` stages as it
   * writes them (its feed); `input.records` is then unused, the feed ends with extract's output.
   */
  follow?: { attempt: number };
  /** Extract, a reader working beside the first: its share of one source's planned read. */
  share?: { source: string; items: unknown };
}

/**
 * Errors lose everything but their message when they cross Durable Object RPC, so failures are values.
 * `transient` says whether another attempt could succeed (`overloaded`: only after the longest backoff);
 * `counts` is how far a stopped attempt got.
 */
export type StageOutcome =
  | { ok: true; report: StageReport }
  | { ok: false; error: string; transient: boolean; overloaded?: boolean; cancelled?: boolean; counts?: StageCounts; source?: SourceReport };

/** Handed to a stage's work: a signal that says stop, and a way to report progress. */
export interface StageContext {
  signal: AbortSignal;
  progress(counts: StageCounts): void;
}
