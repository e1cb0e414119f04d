import type { PipelineSettings } from "../../config/settings";
import type { StageInput, StageReport } from "../../domain/run";
import type { StageName } from "../../domain/stages";

/** What the coordinator hands a stage agent: references to staged data, never the records themselves. */
export interface StageTask {
  runId: string;
  stage: StageName;
  attempt: number;
  input: StageInput;
  settings: PipelineSettings;
}

/** Errors lose everything but their message when they cross Durable Object RPC, so failures are values. */
export type StageOutcome = { ok: true; report: StageReport } | { ok: false; error: string };
