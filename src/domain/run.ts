import type { AlertRecord } from "./alerts";
import type { RejectionSample, RejectionSummary } from "./records";
import { STAGE_NAMES, type StageName } from "./stages";

/**
 * A pipeline run as a document, and the transitions it goes through. The coordinator agent loads a run,
 * applies one of these functions and saves the result; nothing here does I/O or reads the clock.
 */

export type Trigger = "manual" | "scheduled";
export type RunStatus = "running" | "succeeded" | "failed" | "cancelled" | "skipped";
export type StageStatus = "pending" | "running" | "succeeded" | "failed" | "cancelled" | "skipped";

/** A reference to records held in the staging store: the object keys, records per key, and the total. */
export interface StagedData {
  keys: string[];
  counts: number[];
  count: number;
}

export const NOTHING_STAGED: StagedData = Object.freeze({ keys: [], counts: [], count: 0 }) as StagedData;

export function concatStaged(parts: readonly StagedData[]): StagedData {
  return {
    keys: parts.flatMap((part) => part.keys),
    counts: parts.flatMap((part) => part.counts),
    count: parts.reduce((sum, part) => sum + part.count, 0),
  };
}

/**
 * What served a run's records, and why earlier sources were passed over. When every source failed, it
 * describes the last one tried (`served: false`), so a failed run still says what was attempted.
 */
export interface SourceReport {
  name: string;
  /** Whether this source delivered the run's records. */
  served: boolean;
  kind: "sample" | "http";
  url: string | null;
  format: string | null;
  pages: number;
  /** The page limit stopped the read while the source still offered more. */
  truncated: boolean;
  /** The watermark sent to the source, if any. */
  watermark: string | null;
  /** Tries of the serving source, and why the failed ones failed. */
  attempts: number;
  attemptErrors: string[];
  skipped: { name: string; reason: string }[];
}

/** Counts a stage reports as it goes and when it ends. */
export interface StageCounts {
  inputCount: number;
  outputCount: number;
  rejectedCount: number;
}

/** What a stage agent reports when it has finished. Small by design: records travel by reference. */
export interface StageReport extends StageCounts {
  /** The records the next stage reads, in partitions (transform writes one per load shard). */
  output: StagedData[];
  /** Records refused by this stage, staged for the load stage to persist. */
  rejected: StagedData;
  /** The first few rejections, for the run's summary. */
  rejectedSample: RejectionSample[];
  /** Extract: which source served the records. */
  source?: SourceReport;
  /** Transform: the newest timestamp among the clean records (the next run's watermark). */
  maxTimestamp?: string | null;
}

/** Several shards of one stage report as one. Outputs keep shard order, which is position order. */
export function mergeReports(reports: readonly StageReport[]): StageReport {
  const partitions = Math.max(0, ...reports.map((report) => report.output.length));
  const timestamps = reports.map((report) => report.maxTimestamp).filter((value): value is string => typeof value === "string");
  return {
    inputCount: reports.reduce((sum, report) => sum + report.inputCount, 0),
    outputCount: reports.reduce((sum, report) => sum + report.outputCount, 0),
    rejectedCount: reports.reduce((sum, report) => sum + report.rejectedCount, 0),
    output: Array.from({ length: partitions }, (_, index) => concatStaged(reports.map((report) => report.output[index] ?? NOTHING_STAGED))),
    rejected: concatStaged(reports.map((report) => report.rejected)),
    rejectedSample: reports
      .flatMap((report) => report.rejectedSample)
      .sort((a, b) => a.position - b.position)
      .slice(0, MAX_REJECTED_IN_RUN),
    ...(reports.some((report) => report.source) ? { source: reports.find((report) => report.source)!.source } : {}),
    ...(timestamps.length > 0 ? { maxTimestamp: timestamps.sort().at(-1)! } : reports.some((report) => "maxTimestamp" in report) ? { maxTimestamp: null } : {}),
  };
}

export interface StageRun {
  name: StageName;
  status: StageStatus;
  startTime: number | null;
  endTime: number | null;
  durationMs: number | null;
  inputCount: number | null;
  outputCount: number | null;
  rejectedCount: number | null;
  attempts: number;
  /** Errors of attempts that failed and were retried (or the last one, which failed the stage). */
  attemptErrors: string[];
  error?: string;
}

export interface RunResult {
  recordCount: number;
  destination: string;
  success: boolean;
  errors?: string[];
}

export interface Run {
  pipelineId: string;
  pipeline: string;
  trigger: Trigger;
  /** For scheduled runs, the slot the run belongs to (epoch ms). */
  scheduledFor: number | null;
  /** Free text given with a manual trigger. */
  note: string | null;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  currentStage: StageName | null;
  stages: StageRun[];
  destination: string;
  finalResult: RunResult | null;
  /** The first MAX_REJECTED_IN_RUN rejected records. */
  rejected: RejectionSummary[];
  rejectedCount: number;
  /** How often the run was picked up again after its coordinator stopped driving it. */
  resumes: number;
  /** When any stage last reported progress: what the stall detector watches. */
  lastProgressAt: number;
  /** Which source served the records (set by extract). */
  source: SourceReport | null;
  /** The newest clean record's timestamp: becomes the pipeline's watermark if the run succeeds. */
  maxTimestamp: string | null;
  /** The pipeline's watermark when the run started (sent to the source by extract). Internal. */
  inputWatermark?: string | null;
  /** Alerts sent about this run (absent on runs saved before alerts existed). */
  alerts?: AlertRecord[];
  error?: string;
  /** Checkpoints: where each finished stage left its output. Internal, not part of the API. */
  checkpoints: Partial<Record<StageName, { output: StagedData[]; rejected: StagedData }>>;
}

export const MAX_REJECTED_IN_RUN = 100;

export interface NewRun {
  runId: string;
  pipeline: string;
  trigger: Trigger;
  scheduledFor: number | null;
  note?: string | null;
  destination: string;
  now: number;
}

export function startRun(input: NewRun): Run {
  return {
    pipelineId: input.runId,
    pipeline: input.pipeline,
    trigger: input.trigger,
    scheduledFor: input.scheduledFor,
    note: input.note ?? null,
    status: "running",
    startTime: input.now,
    endTime: null,
    currentStage: null,
    stages: STAGE_NAMES.map((name) => emptyStage(name, "pending")),
    destination: input.destination,
    finalResult: null,
    rejected: [],
    rejectedCount: 0,
    resumes: 0,
    lastProgressAt: input.now,
    source: null,
    maxTimestamp: null,
    checkpoints: {},
  };
}

/** A scheduled slot that was not run (another run was active, or the slot was missed): recorded as skipped. */
export function skipRun(input: NewRun & { reason: string }): Run {
  return {
    ...startRun(input),
    status: "skipped",
    endTime: input.now,
    stages: STAGE_NAMES.map((name) => emptyStage(name, "skipped")),
    finalResult: { recordCount: 0, destination: input.destination, success: false },
    error: `skipped: ${input.reason}`,
  };
}

export type NextStep =
  | { kind: "run-stage"; stage: StageName; input: StageInput }
  | { kind: "complete" }
  | { kind: "none" };

/**
 * What a stage reads: the previous stage's records (in partitions), the records refused so far (load
 * persists them), and the extracted records as received (load reads raw forms of duplicates from it).
 */
export interface StageInput {
  records: StagedData[];
  rejected: StagedData[];
  raw: StagedData;
}

/**
 * Decides what the coordinator does next. A stage still marked `running` is returned again: that is how
 * a run resumes after its coordinator was interrupted mid-stage.
 */
export function nextStep(run: Run): NextStep {
  if (run.status !== "running") return { kind: "none" };
  const index = run.stages.findIndex((stage) => stage.status === "pending" || stage.status === "running");
  if (index === -1) return { kind: "complete" };
  const stage = run.stages[index]!.name;
  const previous = index > 0 ? run.checkpoints[run.stages[index - 1]!.name] : undefined;
  const rejected = run.stages
    .slice(0, index)
    .map((earlier) => run.checkpoints[earlier.name]?.rejected)
    .filter((staged): staged is StagedData => staged !== undefined && staged.count > 0);
  const raw = run.checkpoints.extract?.output[0] ?? NOTHING_STAGED;
  return { kind: "run-stage", stage, input: { records: previous?.output ?? [NOTHING_STAGED], rejected, raw } };
}

export function stageStarted(run: Run, stage: StageName, now: number): Run {
  return {
    ...run,
    currentStage: stage,
    lastProgressAt: now,
    stages: updateStage(run, stage, (current) => ({
      ...current,
      status: "running",
      startTime: current.startTime ?? now,
      endTime: null,
      durationMs: null,
      attempts: current.attempts + 1,
    })),
  };
}

/** Live counts from a stage at work. Also proof of life for the stall detector. */
export function stageProgressed(run: Run, stage: StageName, counts: StageCounts, now: number): Run {
  if (run.status !== "running") return run;
  return {
    ...run,
    lastProgressAt: now,
    stages: updateStage(run, stage, (current) => (current.status === "running" ? { ...current, ...counts } : current)),
  };
}

/** An attempt failed in a way worth retrying: the stage stays running and remembers why. */
export function stageAttemptFailed(run: Run, stage: StageName, error: string, now: number): Run {
  return {
    ...run,
    lastProgressAt: now,
    stages: updateStage(run, stage, (current) => ({ ...current, attemptErrors: [...current.attemptErrors, error] })),
  };
}

export function stageSucceeded(run: Run, stage: StageName, report: StageReport, now: number): Run {
  const room = MAX_REJECTED_IN_RUN - run.rejected.length;
  return {
    ...run,
    currentStage: null,
    lastProgressAt: now,
    stages: updateStage(run, stage, (current) => ({
      ...current,
      status: "succeeded",
      endTime: now,
      durationMs: now - (current.startTime ?? now),
      inputCount: report.inputCount,
      outputCount: report.outputCount,
      rejectedCount: report.rejectedCount,
    })),
    rejected: room > 0 ? [...run.rejected, ...report.rejectedSample.slice(0, room).map(({ id, stage, reason }) => ({ id, stage, reason }))] : run.rejected,
    rejectedCount: run.rejectedCount + report.rejectedCount,
    source: report.source ?? run.source,
    maxTimestamp: report.maxTimestamp === undefined ? run.maxTimestamp : report.maxTimestamp,
    checkpoints: { ...run.checkpoints, [stage]: { output: report.output, rejected: report.rejected } },
  };
}

/** A stage failed for good. `source` is extract's report of what it tried, kept on the failed run. */
export function stageFailed(run: Run, stage: StageName, error: string, now: number, source?: SourceReport): Run {
  const stages = closeStages(run, stage, now, (current) => ({
    ...current,
    status: "failed",
    error,
    attemptErrors: [...current.attemptErrors, error],
  }));
  const message = `${stage} stage failed: ${error}`;
  return finish({ ...run, stages, error: message, source: source ?? run.source }, "failed", now, [message]);
}

/**
 * Stops a run on request. The stage at work keeps the counts it had reached, so the partial work is
 * visible; rows it had already loaded stay loaded.
 */
export function cancelRun(run: Run, reason: string, now: number): Run {
  if (run.status !== "running") return run;
  const active = run.currentStage ?? run.stages.find((stage) => stage.status === "pending")?.name ?? null;
  const stages = active === null ? run.stages : closeStages(run, active, now, (current) => ({ ...current, status: "cancelled" }));
  const message = `cancelled: ${reason}`;
  return finish({ ...run, stages, error: message }, "cancelled", now, [message]);
}

/** A coordinator picked the run up again after it had stopped being driven (a restart, or a stall). */
export function runResumed(run: Run, now: number): Run {
  return { ...run, resumes: run.resumes + 1, lastProgressAt: now };
}

export interface StallPolicy {
  stallTimeoutMs: number;
  maxResumes: number;
}

export type StallVerdict = { kind: "healthy" } | { kind: "resume" } | { kind: "give-up"; reason: string };

/** Whether a running run has stalled, and if so whether to resume it once more or to give up on it. */
export function judgeStall(run: Run, now: number, policy: StallPolicy): StallVerdict {
  if (run.status !== "running" || now - run.lastProgressAt < policy.stallTimeoutMs) return { kind: "healthy" };
  if (run.resumes >= policy.maxResumes) {
    return {
      kind: "give-up",
      reason: `no progress for ${formatDuration(now - run.lastProgressAt)} after ${run.resumes} resume${run.resumes === 1 ? "" : "s"} (limit ${policy.maxResumes})`,
    };
  }
  return { kind: "resume" };
}

export function formatDuration(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`;
}

/** A run that cannot be resumed any more: the stage it stood in fails with the reason. */
export function giveUp(run: Run, reason: string, now: number): Run {
  const stage = run.currentStage ?? run.stages.find((candidate) => candidate.status !== "succeeded")?.name ?? "load";
  return stageFailed(run, stage, reason, now);
}

/**
 * Closes a run whose stages all succeeded. The run only counts as succeeded if every extracted record is
 * accounted for: loaded, or rejected with a reason.
 */
export function completeRun(run: Run, now: number): Run {
  const accounting = accountFor(run);
  if (!accounting.balanced) {
    const message =
      `accounting mismatch: extracted ${accounting.extracted}, loaded ${accounting.loaded}, ` +
      `rejected ${accounting.rejected}`;
    return finish({ ...run, error: message }, "failed", now, [message]);
  }
  return finish(run, "succeeded", now);
}

export interface Accounting {
  extracted: number;
  loaded: number;
  rejected: number;
  /** extracted = loaded + rejected */
  balanced: boolean;
}

export function accountFor(run: Run): Accounting {
  const stage = (name: StageName) => run.stages.find((candidate) => candidate.name === name);
  // Extract counts what it read from the source, unparsable lines included (it rejects those itself).
  const extracted = stage("extract")?.inputCount ?? 0;
  const loaded = stage("load")?.outputCount ?? 0;
  return { extracted, loaded, rejected: run.rejectedCount, balanced: extracted === loaded + run.rejectedCount };
}

function finish(run: Run, status: "succeeded" | "failed" | "cancelled", now: number, errors?: string[]): Run {
  const loaded = run.stages.find((stage) => stage.name === "load");
  return {
    ...run,
    status,
    currentStage: null,
    endTime: now,
    finalResult: {
      recordCount: loaded?.outputCount ?? 0,
      destination: run.destination,
      success: status === "succeeded",
      ...(errors ? { errors } : {}),
    },
  };
}

/** Ends `stage` with `close`, and marks every stage after it skipped. */
function closeStages(run: Run, stage: StageName, now: number, close: (current: StageRun) => StageRun): StageRun[] {
  const index = run.stages.findIndex((candidate) => candidate.name === stage);
  return run.stages.map((current, position) => {
    if (position === index) {
      return close({ ...current, endTime: now, durationMs: current.startTime === null ? null : now - current.startTime });
    }
    if (position > index) return { ...current, status: "skipped" };
    return current;
  });
}

function emptyStage(name: StageName, status: StageStatus): StageRun {
  return {
    name,
    status,
    startTime: null,
    endTime: null,
    durationMs: null,
    inputCount: null,
    outputCount: null,
    rejectedCount: null,
    attempts: 0,
    attemptErrors: [],
  };
}

function updateStage(run: Run, stage: StageName, change: (current: StageRun) => StageRun): StageRun[] {
  return run.stages.map((current) => (current.name === stage ? change(current) : current));
}

/** The run as the API shows it: the seed's fields plus status and per-stage detail, without internals. */
export type RunView = Omit<Run, "checkpoints" | "destination" | "lastProgressAt" | "maxTimestamp" | "inputWatermark" | "alerts"> & {
  alerts: AlertRecord[];
  totalDuration: number | null;
  stagesCompleted: StageName[];
  accounting: Accounting;
  lastProgressAt: number | null;
};

export function toRunView(run: Run): RunView {
  return {
    pipelineId: run.pipelineId,
    pipeline: run.pipeline,
    trigger: run.trigger,
    scheduledFor: run.scheduledFor,
    note: run.note,
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
    ...(run.error === undefined ? {} : { error: run.error }),
  };
}
