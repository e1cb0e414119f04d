import type { RunDefinition } from "./definition";
import { accountFor, mismatchMessage } from "./accounting";
import type { AlertRecord } from "./alerts";
import { blockingResults, describeFailures, type AcceptedChecks, type CheckReport, type CheckTallyState } from "./check-results";
import type { ContractSummary } from "./contract-summary";
import type { ConsumedRun } from "./upstream-gate";
import type { RejectionSummary } from "./records";
import { MAX_REJECTED_IN_RUN, type SourceReport, type StageCounts, type StageReport } from "./stage-report";
import { NOTHING_STAGED, type StageInput, type StagedData } from "./staged-data";
import { STAGE_NAMES, type StageName } from "./stages";

/**
 * A pipeline run as a document, and the transitions it goes through. The coordinator agent loads a run,
 * applies one of these functions and saves the result; nothing here does I/O or reads the clock.
 */

/** What a run parameter may hold: a scalar, or a list of them (they travel as JSON, and between agents). */
export type ParamScalar = string | number | boolean | null;
export type ParamValue = ParamScalar | ParamScalar[];
export type RunParams = { [name: string]: ParamValue };

/**
 * What started a run: a person (manual), the schedule (scheduled), a backfill working through past slots,
 * a retry of a failed or cancelled run, the success of the upstream runs a waiting slot needed
 * (upstream), an event posted to the API (event), or files landing in R2 (object).
 */
export const TRIGGERS = ["manual", "scheduled", "backfill", "retry", "upstream", "event", "object"] as const;
export type Trigger = (typeof TRIGGERS)[number];
/** The triggers of runs that belong to their slot (a second start of the slot finds the first). */
export const SLOT_TRIGGERS = ["scheduled", "upstream"] as const satisfies readonly Trigger[];

/**
 * Where a run's data came from and why it started, beyond its trigger: the upstream runs it consumed, the
 * objects or events that started it, the upstream backfill it cascaded from.
 */
export interface Lineage {
  /** The upstream runs whose slots fed this run's slot (its windows), oldest first per upstream. */
  upstream: ConsumedRun[];
  /** Set when the slot ran without all its upstream (late, policy "run"): what was still missing. */
  missingUpstream: string | null;
  /** The object notifications that started the run (key and etag), oldest first. */
  objects: { key: string; etag: string }[];
  /** The API events that started the run (their ids, and the Idempotency-Key each came with). */
  events: { id: string; idempotencyKey: string | null }[];
  /** The upstream backfill whose cascade this run belongs to. */
  cascadeOf: string | null;
}

export function emptyLineage(): Lineage {
  return { upstream: [], missingUpstream: null, objects: [], events: [], cascadeOf: null };
}

export const RUN_STATUSES = ["running", "succeeded", "failed", "cancelled", "skipped"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** The statuses of a run that executed and ended (a skipped run never executed). */
export const FINISHED_STATUSES = ["succeeded", "failed", "cancelled"] as const satisfies readonly RunStatus[];

export const STAGE_STATUSES = ["pending", "running", "succeeded", "failed", "cancelled", "skipped"] as const;
export type StageStatus = (typeof STAGE_STATUSES)[number];

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
  /** A retry reused this stage's staged output from that run instead of running it again. */
  reusedFrom?: string;
  /**
   * Overlap: how long this stage's attempt worked beside the stage before it, before its own turn. Its
   * startTime is its turn and its durationMs the part after, so the stages' durations still add up to the run's.
   */
  aheadMs?: number;
  error?: string;
}

/** A run that retries another: which one, from which stage, and what it reused. */
export interface RetryOrigin {
  /** The failed or cancelled run this one retries. */
  of: string;
  /** The first stage this run executes. */
  fromStage: StageName;
  /** Stages whose staged output was reused instead of run again. */
  reused: StageName[];
  /** Why the retry starts earlier than the failed stage, when it does (the staged data expired). */
  note: string | null;
}

export interface RunResult {
  recordCount: number;
  destination: string;
  success: boolean;
  errors?: string[];
}

export interface Run {
  runId: string;
  /** The name of the pipeline the run belongs to. */
  pipeline: string;
  trigger: Trigger;
  /** For scheduled runs, the slot the run belongs to (epoch ms). */
  scheduledFor: number | null;
  /** Free text given with a manual trigger. */
  note: string | null;
  /** The run's parameters, checked against the pipeline's `params` schema (its defaults for a scheduled run). */
  params: RunParams;
  /**
   * The moment the run's data is for: its slot, or when it was triggered for a run without one; a retry
   * keeps its original's. Source URLs see it as `{{slot.*}}`. Internal.
   */
  asOf: number;
  /** The backfill this run belongs to, if any. */
  backfillId: string | null;
  /** The IANA time zone of the schedule the run's slot belongs to: where its slot's time and day are read. */
  timezone: string;
  /** Set on a retry: what it retries and what it reused. */
  retry: RetryOrigin | null;
  /** Runs that retried this one, oldest first. */
  retriedBy: string[];
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  currentStage: StageName | null;
  stages: StageRun[];
  /** Where the records are loaded, e.g. d1://scheduled-pipeline/metrics. */
  destination: string;
  finalResult: RunResult | null;
  /** The first MAX_REJECTED_IN_RUN rejected records. */
  rejected: RejectionSummary[];
  rejectedCount: number;
  /** Records the pipeline's transform chose to skip: neither loaded nor rejected, but counted. */
  skippedCount: number;
  /** How often the run was picked up again after its coordinator stopped driving it. */
  resumes: number;
  /** When any stage last reported progress: what the stall detector watches. */
  lastProgressAt: number;
  /** Which source served the records (set by extract), or what was tried. */
  source: SourceReport | null;
  /** The newest watermark value among the loaded rows: becomes the pipeline's watermark if the run succeeds. */
  newestWatermark: string | null;
  /** The pipeline's watermark when the run started (sent to the source by extract). Internal. */
  inputWatermark?: string | null;
  /**
   * Whether the run reads what is new since the watermark, and moves it forward when it succeeds. A
   * backfill run reads its slot's data instead, and leaves the watermark alone (its newest value may be
   * past data never read); a retry does as its original did. Internal.
   */
  incremental: boolean;
  /** Whether extract reads again what earlier runs read (an object source's ledger is passed by): a backfill with reprocess "all", and its retries. Internal. */
  reread?: boolean;
  /** The definition the run works under: its fingerprint, the Worker version, changes a resume met (absent on older runs). */
  definition?: RunDefinition;
  /** Alerts sent about this run (absent on runs saved before alerts existed). */
  alerts?: AlertRecord[];
  /** What fed the run and what started it, beyond its trigger (absent on runs saved before lineage existed). */
  lineage?: Lineage;
  error?: string;
  /** What kind of failure `error` is, where one has a name: `checks_failed` (a dataset check blocked the load). */
  errorCode?: RunErrorCode;
  /** The dataset checks' results, once judged (between transform and load). */
  checks?: CheckReport;
  /** A retry's acceptance of named failed checks: they no longer block its load. */
  acceptChecks?: AcceptedChecks;
  /**
   * What transform met of fields the record schema does not know, and what the pipeline's contract did
   * (evolve, freeze, discard): absent when the pipeline declares no contract and no record carried one.
   */
  contract?: ContractSummary;
  /** Checkpoints: where each finished stage left its output. Internal, not part of the API. */
  checkpoints: Partial<Record<StageName, Checkpoint>>;
}

export const RUN_ERROR_CODES = ["checks_failed"] as const;
export type RunErrorCode = (typeof RUN_ERROR_CODES)[number];

/** Where a finished stage left its output; transform's also holds what the dataset checks found in it. */
export interface Checkpoint {
  output: StagedData[];
  rejected: StagedData;
  checks?: CheckTallyState;
}

export interface NewRun {
  definition?: RunDefinition;
  runId: string;
  pipeline: string;
  trigger: Trigger;
  scheduledFor: number | null;
  note?: string | null;
  params?: RunParams;
  /** Defaults to the slot, or `now` for a run without one. */
  asOf?: number;
  backfillId?: string | null;
  /** The schedule's time zone (UTC unless said). */
  timezone?: string;
  reread?: boolean;
  lineage?: Lineage;
  destination: string;
  now: number;
}

export function startRun(input: NewRun): Run {
  return {
    runId: input.runId,
    pipeline: input.pipeline,
    trigger: input.trigger,
    scheduledFor: input.scheduledFor,
    note: input.note ?? null,
    params: input.params ?? {},
    asOf: input.asOf ?? input.scheduledFor ?? input.now,
    incremental: input.trigger !== "backfill",
    ...(input.reread ? { reread: true } : {}),
    ...(input.definition ? { definition: input.definition } : {}),
    lineage: input.lineage ?? emptyLineage(),
    backfillId: input.backfillId ?? null,
    timezone: input.timezone ?? "UTC",
    retry: null,
    retriedBy: [],
    status: "running",
    startTime: input.now,
    endTime: null,
    currentStage: null,
    stages: STAGE_NAMES.map((name) => emptyStage(name, "pending")),
    destination: input.destination,
    finalResult: null,
    rejected: [],
    rejectedCount: 0,
    skippedCount: 0,
    resumes: 0,
    lastProgressAt: input.now,
    source: null,
    newestWatermark: null,
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
    // A new attempt starts in its turn; one that followed the stage before it is taken up with its aheadMs.
    stages: updateStage(run, stage, ({ aheadMs: _earlierAttemptAhead, ...current }) => ({
      ...current,
      status: "running",
      startTime: current.startTime ?? now,
      endTime: null,
      durationMs: null,
      attempts: current.attempts + 1,
    })),
  };
}

/** A stage's attempt that started ahead of its turn, at `since`, is the one now running. */
export function stageTakenUp(run: Run, stage: StageName, since: number): Run {
  return { ...run, stages: updateStage(run, stage, (current) => ({ ...current, aheadMs: Math.max(0, (current.startTime ?? since) - since) })) };
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
    skippedCount: run.skippedCount + (report.skippedCount ?? 0),
    source: report.source ?? run.source,
    ...(report.contract ? { contract: report.contract } : {}),
    newestWatermark: report.newestWatermark === undefined ? run.newestWatermark : report.newestWatermark,
    checkpoints: { ...run.checkpoints, [stage]: { output: report.output, rejected: report.rejected, ...(report.checks ? { checks: report.checks.tally } : {}) } },
  };
}

/**
 * The dataset checks were judged, before load: the results are kept on the run, and when an `error` check
 * failed (and was not accepted) the run fails with `checks_failed` there, nothing of it written.
 */
export function checksJudged(run: Run, report: CheckReport, now: number): Run {
  const judged = { ...run, checks: report, lastProgressAt: now };
  if (!report.blocked) return judged;
  const message = `checks failed: ${describeFailures(blockingResults(report.results))}`;
  const stages = judged.stages.map((stage) => (stage.status === "pending" ? { ...stage, status: "skipped" as const } : stage));
  return finish({ ...judged, stages, error: message, errorCode: "checks_failed" }, "failed", now, [message]);
}

/** Whether the run's checks are still to be judged: its transform is done, its load not started. */
export function checksDue(run: Run): boolean {
  if (run.status !== "running" || run.checks !== undefined) return false;
  const transform = run.stages.find((stage) => stage.name === "transform");
  const load = run.stages.find((stage) => stage.name === "load");
  return transform?.status === "succeeded" && load?.status === "pending" && load.attempts === 0;
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

/** Whether a run that ended without succeeding may have written rows: its load stage was started. */
export function loadWasStarted(run: Run): boolean {
  return run.status !== "succeeded" && (run.stages.find((stage) => stage.name === "load")?.attempts ?? 0) > 0;
}

/**
 * A run that ended without succeeding, with `loaded` as the destination holds it: the rows of this run
 * counted in the table once its load attempts had stopped, whichever attempt, shard or batch wrote them.
 * Live progress reports lag behind, and a cancel or a failure can land inside a chunk.
 */
export function withRowsWritten(run: Run, rows: number): Run {
  return {
    ...run,
    stages: updateStage(run, "load", (current) => ({ ...current, outputCount: rows })),
    finalResult: run.finalResult ? { ...run.finalResult, recordCount: rows } : run.finalResult,
  };
}

/** A coordinator picked the run up again after it had stopped being driven (a restart, or a stall). */
export function runResumed(run: Run, now: number): Run {
  return { ...run, resumes: run.resumes + 1, lastProgressAt: now };
}

/** A run that cannot be resumed any more: the stage it stood in fails with the reason. */
export function giveUp(run: Run, reason: string, now: number): Run {
  const stage = run.currentStage ?? run.stages.find((candidate) => candidate.status !== "succeeded")?.name ?? "load";
  return stageFailed(run, stage, reason, now);
}

/**
 * Closes a run whose stages all succeeded. The run only counts as succeeded if every extracted record is
 * accounted for: loaded, rejected with a reason, or skipped by the pipeline's own choice.
 */
export function completeRun(run: Run, now: number): Run {
  const accounting = accountFor(run);
  if (!accounting.balanced) {
    const message = mismatchMessage(accounting);
    return finish({ ...run, error: message }, "failed", now, [message]);
  }
  return finish(run, "succeeded", now);
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

/**
 * Run documents saved by earlier versions of the service, brought to today's shape when read, so an
 * upgrade keeps every run's history.
 */
export function upgradeRun(stored: Record<string, unknown>, timezone = "UTC"): Run {
  const run = { ...stored } as Record<string, unknown>;
  if (run.runId === undefined && typeof run.pipelineId === "string") run.runId = run.pipelineId;
  delete run.pipelineId;
  if (run.newestWatermark === undefined) run.newestWatermark = (run.maxTimestamp as string | null | undefined) ?? null;
  delete run.maxTimestamp;
  run.skippedCount ??= 0;
  run.params ??= {};
  run.asOf ??= (run.scheduledFor as number | null | undefined) ?? run.startTime;
  run.incremental ??= run.trigger !== "backfill";
  run.backfillId ??= null;
  run.timezone ??= timezone;
  run.retry ??= null;
  run.retriedBy ??= [];
  return run as unknown as Run;
}
