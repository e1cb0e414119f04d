import { startRun, type Run, type StageRun } from "./run";
import { STAGE_NAMES, type StageName } from "./stages";

/**
 * Retrying a failed or cancelled run from the stage that failed: a new run, linked to the original, that
 * starts from the stages' staged output the original left behind instead of reading the source again.
 */

export type RetryCheck = { ok: true } | { ok: false; reason: string };

/** Only a run that executed and did not succeed can be retried. */
export function checkRetryable(run: Run): RetryCheck {
  switch (run.status) {
    case "failed":
    case "cancelled":
      return { ok: true };
    case "running":
      return { ok: false, reason: `run ${run.runId} is still running; cancel it first, or wait for it to end` };
    case "succeeded":
      return { ok: false, reason: `run ${run.runId} succeeded; there is nothing to retry (trigger a new run instead)` };
    case "skipped":
      return {
        ok: false,
        reason: `run ${run.runId} was skipped and never executed; to run its slot, backfill it (POST …/backfill with from = ${new Date(run.scheduledFor ?? run.startTime).toISOString()})`,
      };
  }
}

/** The stages a retry can take from the original as they are: the ones before the stage that did not succeed. */
export function reusableStages(run: Run): StageName[] {
  const reusable: StageName[] = [];
  for (const stage of run.stages) {
    if (stage.status !== "succeeded" || !run.checkpoints[stage.name]) break;
    reusable.push(stage.name);
  }
  // Every stage succeeded and the run still failed (its books did not balance): nothing in it can be trusted.
  return reusable.length === STAGE_NAMES.length ? [] : reusable;
}

/** The runs whose staged objects a retry would read: the original's, or older runs' it had reused itself. */
export function stagingOwners(run: Run, stages: readonly StageName[]): string[] {
  return [...new Set(stages.map((name) => run.stages.find((stage) => stage.name === name)?.reusedFrom ?? run.runId))];
}

/** What the coordinator knows that decides how much of the original a retry may reuse. */
export interface RetryConditions {
  /** Whether a run's staged data is still kept (not yet removed after its retention). */
  stagingKept(runId: string): boolean;
  /** Why a run's staged data is gone, for the retry's note. */
  stagingGone(runId: string): string;
  /** The destination's table or columns changed since the original ran: its transformed rows no longer fit. */
  destinationChanged: boolean;
  /** The first stage whose fingerprint differs from the original's (its output would differ now), if any. */
  definitionChanged?: "extract" | "transform" | null;
}

export interface RetryPlan {
  reused: StageName[];
  /** Why the retry starts earlier than the stage that failed, when it does. */
  note: string | null;
}

/** How much of the original a retry reuses: the stages before the failed one, if their staged output is still good. */
export function planRetry(original: Run, conditions: RetryConditions): RetryPlan {
  let reused = reusableStages(original);
  let note: string | null = null;
  if (conditions.definitionChanged && reused.includes(conditions.definitionChanged)) {
    reused = reused.slice(0, reused.indexOf(conditions.definitionChanged));
    note = `the definition changed since run ${original.runId} (${original.definition?.fingerprint ?? "?"} → now): ${conditions.definitionChanged === "extract" ? "the sources are read again" : "transform runs again"}`;
  } else if (conditions.destinationChanged && reused.includes("transform")) {
    reused = reused.slice(0, reused.indexOf("transform"));
    note = `the destination's table or columns changed since run ${original.runId}; transform runs again`;
  }
  const gone = stagingOwners(original, reused).find((owner) => !conditions.stagingKept(owner));
  if (gone !== undefined) return { reused: [], note: `${conditions.stagingGone(gone)}; starting from extract` };
  return { reused, note };
}

/** A retry asked to start at `fromStage` or earlier: it reuses at most the stages before it. */
export function startingAt(plan: RetryPlan, fromStage: StageName | undefined): RetryPlan {
  if (fromStage === undefined) return plan;
  const limit = STAGE_NAMES.indexOf(fromStage);
  if (plan.reused.length <= limit) return plan;
  return { reused: plan.reused.slice(0, limit), note: plan.note ?? `asked to start from ${fromStage}` };
}

/**
 * Why a retry may not accept the named checks, or null when it may: only a run whose load its checks
 * blocked, only checks that failed there, and only with the checked batch reused as it was (a batch
 * transformed again is another batch, judged afresh).
 */
export function acceptanceProblem(
  original: Run,
  names: readonly string[],
  plan: RetryPlan,
  /** A run of the pipeline that started after the original and succeeded, if any. */
  newerSuccess: string | null = null,
): { code: "checks_not_failed" | "checks_not_reusable" | "batch_superseded"; reason: string } | null {
  if (names.length === 0) return null;
  const failed = new Set((original.checks?.results ?? []).filter((result) => result.outcome === "failed").map((result) => result.name));
  if (original.errorCode !== "checks_failed") return { code: "checks_not_failed", reason: `run ${original.runId} did not fail its checks; acceptChecks only applies to a run that failed with checks_failed` };
  const unknown = names.filter((name) => !failed.has(name));
  if (unknown.length > 0) return { code: "checks_not_failed", reason: `run ${original.runId} has no failed check named ${unknown.map((name) => JSON.stringify(name)).join(", ")} (failed: ${[...failed].join(", ")})` };
  // Loading the old batch now would write its rows over what a later run loaded (the fixed file, say).
  if (newerSuccess !== null) return { code: "batch_superseded", reason: `run ${newerSuccess} started after run ${original.runId} and succeeded; loading ${original.runId}'s batch now would write older rows over it (trigger a new run, or retry without acceptChecks to judge a new batch)` };
  if (!plan.reused.includes("transform")) return { code: "checks_not_reusable", reason: `the retry would transform again (${plan.note ?? "the staged batch is not reusable"}), so the checked batch is gone; retry without acceptChecks to check the new batch` };
  return null;
}

export interface RetryRequest {
  runId: string;
  now: number;
  destination: string;
  plan: RetryPlan;
}

/**
 * The retry as a new run: the reusable stages already succeeded (with the original's counts, rejections
 * and source report, and `reusedFrom` naming where their output lives), the rest pending. It reads the
 * same slot, with the same parameters and watermark, as the original.
 */
export function retryRun(original: Run, request: RetryRequest): Run {
  const { reused, note } = request.plan;
  const fromStage = STAGE_NAMES[reused.length]!;
  const fresh = startRun({
    runId: request.runId,
    pipeline: original.pipeline,
    trigger: "retry",
    scheduledFor: original.scheduledFor,
    note: original.note,
    params: original.params,
    asOf: original.asOf,
    backfillId: null,
    timezone: original.timezone,
    reread: original.reread,
    ...(original.lineage ? { lineage: original.lineage } : {}),
    destination: request.destination,
    now: request.now,
  });
  // Not run by the retry: nothing of it worked ahead either.
  const reusedStage = ({ aheadMs: _ranInOriginal, ...stage }: StageRun): StageRun => ({
    ...stage,
    startTime: null,
    endTime: null,
    durationMs: null,
    attempts: 0,
    attemptErrors: [],
    reusedFrom: stage.reusedFrom ?? original.runId,
  });
  const isReused = (name: StageName) => reused.includes(name);
  return {
    ...fresh,
    inputWatermark: original.inputWatermark ?? null,
    incremental: original.incremental,
    stages: fresh.stages.map((stage) => (isReused(stage.name) ? reusedStage(original.stages.find((candidate) => candidate.name === stage.name)!) : stage)),
    checkpoints: Object.fromEntries(reused.map((name) => [name, original.checkpoints[name]!])),
    rejected: original.rejected.filter((entry) => isReused(entry.stage as StageName)),
    rejectedCount: original.stages.filter((stage) => isReused(stage.name)).reduce((sum, stage) => sum + (stage.rejectedCount ?? 0), 0),
    // Skips are the transform's choice; they only carry over when its output does.
    skippedCount: isReused("transform") ? original.skippedCount : 0,
    source: isReused("extract") ? original.source : null,
    // The newest watermark value is found by transform: it carries over with transform's output.
    newestWatermark: isReused("transform") ? original.newestWatermark : null,
    // So do the unknown fields it met (the contract's summary).
    ...(isReused("transform") && original.contract ? { contract: original.contract } : {}),
    retry: { of: original.runId, fromStage, reused, note },
  };
}

/** The original, marked as retried by `retryRunId`. */
export function markRetried(original: Run, retryRunId: string): Run {
  return { ...original, retriedBy: [...original.retriedBy, retryRunId] };
}
