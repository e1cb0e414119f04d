import type { RejectionSummary } from "./records";
import { STAGE_NAMES, type StageName } from "./stages";

/**
 * A pipeline run as a document, and the transitions it goes through. The coordinator agent loads a run,
 * applies one of these functions and saves the result; nothing here does I/O or reads the clock.
 */

export type Trigger = "manual" | "scheduled";
export type RunStatus = "running" | "succeeded" | "failed" | "skipped";
export type StageStatus = "pending" | "running" | "succeeded" | "failed" | "skipped";

/** A reference to records held in the staging store: the object keys and how many records they hold. */
export interface StagedData {
  keys: string[];
  count: number;
}

export const NOTHING_STAGED: StagedData = Object.freeze({ keys: [], count: 0 }) as StagedData;

/** What a stage agent reports when it has finished. Small by design: records travel by reference. */
export interface StageReport {
  inputCount: number;
  outputCount: number;
  rejectedCount: number;
  /** The records the next stage reads. */
  output: StagedData;
  /** Records refused by this stage, staged for the load stage to persist. */
  rejected: StagedData;
  /** The first few rejections, for the run's summary. */
  rejectedSample: RejectionSummary[];
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
  error?: string;
  /** Checkpoints: where each finished stage left its output. Internal, not part of the API. */
  checkpoints: Partial<Record<StageName, { output: StagedData; rejected: StagedData }>>;
}

export const MAX_REJECTED_IN_RUN = 100;

export interface NewRun {
  runId: string;
  pipeline: string;
  trigger: Trigger;
  scheduledFor: number | null;
  destination: string;
  now: number;
}

export function startRun(input: NewRun): Run {
  return {
    pipelineId: input.runId,
    pipeline: input.pipeline,
    trigger: input.trigger,
    scheduledFor: input.scheduledFor,
    status: "running",
    startTime: input.now,
    endTime: null,
    currentStage: null,
    stages: STAGE_NAMES.map((name) => emptyStage(name, "pending")),
    destination: input.destination,
    finalResult: null,
    rejected: [],
    rejectedCount: 0,
    checkpoints: {},
  };
}

/** A scheduled slot that fell while another run was active: recorded, not run. */
export function skipRun(input: NewRun & { activeRunId: string }): Run {
  return {
    ...startRun(input),
    status: "skipped",
    endTime: input.now,
    stages: STAGE_NAMES.map((name) => emptyStage(name, "skipped")),
    finalResult: { recordCount: 0, destination: input.destination, success: false },
    error: `skipped: run ${input.activeRunId} was still active`,
  };
}

export type NextStep =
  | { kind: "run-stage"; stage: StageName; input: StageInput }
  | { kind: "complete" }
  | { kind: "none" };

/** What a stage reads: the previous stage's records, and for load the records refused so far. */
export interface StageInput {
  records: StagedData;
  rejected: StagedData[];
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
  return { kind: "run-stage", stage, input: { records: previous?.output ?? NOTHING_STAGED, rejected } };
}

export function stageStarted(run: Run, stage: StageName, now: number): Run {
  return {
    ...run,
    currentStage: stage,
    stages: updateStage(run, stage, (current) => ({
      ...current,
      status: "running",
      startTime: current.startTime ?? now,
      endTime: null,
      durationMs: null,
      attempts: current.attempts + 1,
      error: undefined,
    })),
  };
}

export function stageSucceeded(run: Run, stage: StageName, report: StageReport, now: number): Run {
  const room = MAX_REJECTED_IN_RUN - run.rejected.length;
  return {
    ...run,
    currentStage: null,
    stages: updateStage(run, stage, (current) => ({
      ...current,
      status: "succeeded",
      endTime: now,
      durationMs: now - (current.startTime ?? now),
      inputCount: report.inputCount,
      outputCount: report.outputCount,
      rejectedCount: report.rejectedCount,
    })),
    rejected: room > 0 ? [...run.rejected, ...report.rejectedSample.slice(0, room)] : run.rejected,
    rejectedCount: run.rejectedCount + report.rejectedCount,
    checkpoints: { ...run.checkpoints, [stage]: { output: report.output, rejected: report.rejected } },
  };
}

export function stageFailed(run: Run, stage: StageName, error: string, now: number): Run {
  const failedIndex = run.stages.findIndex((candidate) => candidate.name === stage);
  const stages = run.stages.map((current, index): StageRun => {
    if (index === failedIndex) {
      return { ...current, status: "failed", endTime: now, durationMs: now - (current.startTime ?? now), error };
    }
    if (index > failedIndex) return { ...current, status: "skipped" };
    return current;
  });
  const message = `${stage} stage failed: ${error}`;
  return finish({ ...run, stages, error: message }, "failed", now, [message]);
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
  balanced: boolean;
}

export function accountFor(run: Run): Accounting {
  const count = (name: StageName) => run.stages.find((stage) => stage.name === name)?.outputCount ?? 0;
  const extracted = count("extract");
  const loaded = count("load");
  return { extracted, loaded, rejected: run.rejectedCount, balanced: extracted === loaded + run.rejectedCount };
}

function finish(run: Run, status: "succeeded" | "failed", now: number, errors?: string[]): Run {
  const loaded = run.stages.find((stage) => stage.name === "load");
  return {
    ...run,
    status,
    currentStage: null,
    endTime: now,
    finalResult: {
      recordCount: loaded?.status === "succeeded" ? (loaded.outputCount ?? 0) : 0,
      destination: run.destination,
      success: status === "succeeded",
      ...(errors ? { errors } : {}),
    },
  };
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
  };
}

function updateStage(run: Run, stage: StageName, change: (current: StageRun) => StageRun): StageRun[] {
  return run.stages.map((current) => (current.name === stage ? change(current) : current));
}

/** The run as the API shows it: the seed's fields plus status and per-stage detail, without internals. */
export type RunView = Omit<Run, "checkpoints" | "destination"> & {
  totalDuration: number | null;
  stagesCompleted: StageName[];
};

export function toRunView(run: Run): RunView {
  return {
    pipelineId: run.pipelineId,
    pipeline: run.pipeline,
    trigger: run.trigger,
    scheduledFor: run.scheduledFor,
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
    ...(run.error === undefined ? {} : { error: run.error }),
  };
}
