import type { AlertRecord } from "./alerts";
import { accountFor, type Accounting } from "./accounting";
import { emptyLineage, type Lineage, type Run } from "./run";
import { localIso } from "./local-time";
import type { StageName } from "./stages";

/**
 * The run as the API shows it: the seed's fields (the run id is `pipelineId` there, as in the original
 * example) plus status and per-stage detail, without internals.
 */
export type RunView = Omit<Run, "runId" | "checkpoints" | "destination" | "lastProgressAt" | "newestWatermark" | "inputWatermark" | "alerts" | "skippedCount" | "asOf" | "incremental" | "reread" | "lineage"> & {
  lineage: Lineage;
  pipelineId: string;
  alerts: AlertRecord[];
  totalDuration: number | null;
  stagesCompleted: StageName[];
  accounting: Accounting;
  lastProgressAt: number | null;
  /** The run's slot on its schedule's wall clock, with the offset (`2026-11-28T03:00:00-05:00`); null without a slot. */
  scheduledForLocal: string | null;
};

export function toRunView(run: Run): RunView {
  return {
    pipelineId: run.runId,
    pipeline: run.pipeline,
    trigger: run.trigger,
    scheduledFor: run.scheduledFor,
    scheduledForLocal: run.scheduledFor === null ? null : localIso(run.scheduledFor, run.timezone),
    timezone: run.timezone,
    note: run.note,
    params: run.params,
    backfillId: run.backfillId,
    lineage: run.lineage ?? emptyLineage(),
    retry: run.retry,
    retriedBy: run.retriedBy,
    status: run.status,
    startTime: run.startTime,
    endTime: run.endTime,
    totalDuration: run.endTime === null ? null : run.endTime - run.startTime,
    currentStage: run.currentStage,
    stagesCompleted: run.stages.filter((stage) => stage.status === "succeeded").map((stage) => stage.name),
    stages: run.stages,
    finalResult: run.finalResult,
    rejected: run.rejected,
    rejectedCount: run.rejectedCount,
    accounting: accountFor(run),
    resumes: run.resumes,
    lastProgressAt: run.status === "running" ? run.lastProgressAt : null,
    source: run.source,
    alerts: run.alerts ?? [],
    ...(run.definition ? { definition: run.definition } : {}),
    ...(run.contract ? { contract: run.contract } : {}),
    ...(run.error === undefined ? {} : { error: run.error }),
    ...(run.errorCode === undefined ? {} : { errorCode: run.errorCode }),
    ...(run.checks === undefined ? {} : { checks: run.checks }),
    ...(run.acceptChecks === undefined ? {} : { acceptChecks: run.acceptChecks }),
  };
}

/** The last run as the pipelines list shows it. */
export interface RunSummary {
  pipelineId: string;
  status: Run["status"];
  endTime: number | null;
}
