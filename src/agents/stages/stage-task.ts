import type { PipelineSettings } from "../../config/settings";
import type { StageCounts, StageInput, StageReport } from "../../domain/run";
import type { StageName } from "../../domain/stages";

/** What the coordinator hands a stage agent: references to staged data, never the records themselves. */
export interface StageTask {
  runId: string;
  stage: StageName;
  attempt: number;
  input: StageInput;
  settings: PipelineSettings;
}

/**
 * Errors lose everything but their message when they cross Durable Object RPC, so failures are values.
 * `transient` says whether another attempt could succeed; `counts` is how far a stopped attempt got.
 */
export type StageOutcome =
  | { ok: true; report: StageReport }
  | { ok: false; error: string; transient: boolean; cancelled?: boolean; counts?: StageCounts };

/** Handed to a stage's work: a signal that says stop, and a way to report progress. */
export interface StageContext {
  signal: AbortSignal;
  progress(counts: StageCounts): void;
}
