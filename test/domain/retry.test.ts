/**
 * Retrying a run from the stage that failed: which runs may be retried, what the retry reuses (and when
 * it may not), and that the retry's books balance with the reused stages' counts.
 */
import { describe, expect, it } from "vitest";
import { accountFor } from "../../src/domain/accounting";
import { checkReport } from "../../src/domain/check-results";
import { acceptanceProblem, checkRetryable, markRetried, planRetry, retryRun, reusableStages, stagingOwners, startingAt, type RetryConditions } from "../../src/domain/retry";
import { cancelRun, checksJudged, completeRun, nextStep, skipRun, stageFailed, stageStarted, stageSucceeded, startRun, type Run } from "../../src/domain/run";
import type { StageReport } from "../../src/domain/stage-report";

const staged = (name: string, count: number) => ({ keys: count > 0 ? [`runs/default/manual-1000/${name}`] : [], counts: count > 0 ? [count] : [], count });
const report = (partial: Partial<StageReport>): StageReport => ({ inputCount: 0, outputCount: 0, rejectedCount: 0, output: [], rejected: staged("none", 0), rejectedSample: [], ...partial });

const extractReport = report({
  inputCount: 5,
  outputCount: 4,
  rejectedCount: 1,
  output: [staged("extract", 5)],
  rejectedSample: [{ position: 4, id: null, stage: "extract", reason: "not JSON" }],
  source: { name: "primary", served: true, kind: "http", url: "https://source.test/day/2026-11-28", format: "json", pages: 1, truncated: false, watermark: null, attempts: 1, attemptErrors: [], skipped: [] },
});
const transformReport = report({
  inputCount: 4,
  outputCount: 2,
  rejectedCount: 1,
  skippedCount: 1,
  output: [staged("transform", 2)],
  rejected: staged("transform-rejected", 2),
  rejectedSample: [{ position: 1, id: "b", stage: "transform", reason: "value is negative" }],
});

const base = { runId: "scheduled-1000", pipeline: "default", trigger: "scheduled" as const, scheduledFor: 1000, params: { region: "eu" }, destination: "d1://db/metrics", now: 1000 };

function through(run: Run, reports: StageReport[]): Run {
  let current = run;
  for (const stageReport of reports) {
    const step = nextStep(current);
    if (step.kind !== "run-stage") throw new Error(step.kind);
    current = stageSucceeded(stageStarted(current, step.stage, 1010), step.stage, stageReport, 1100);
  }
  return current;
}

/** A run whose load failed after extract and transform succeeded. */
function failedAtLoad(): Run {
  const run = through({ ...startRun(base), inputWatermark: "2026-11-27T00:00:00Z" }, [extractReport, transformReport]);
  return stageFailed(stageStarted(run, "load", 1200), "load", "D1_ERROR: no such table: metrics", 1300);
}

const keptEverything: RetryConditions = { stagingKept: () => true, stagingGone: (runId) => `the staged data of run ${runId} was removed`, destinationChanged: false };

describe("which runs can be retried", () => {
  it("a failed or cancelled run can; a succeeded, running or skipped one cannot, and the reason says what to do", () => {
    expect(checkRetryable(failedAtLoad())).toEqual({ ok: true });
    expect(checkRetryable(cancelRun(startRun(base), "by hand", 1500))).toEqual({ ok: true });
    expect(checkRetryable(startRun(base))).toEqual({ ok: false, reason: "run scheduled-1000 is still running; cancel it first, or wait for it to end" });
    const succeeded = completeRun(through(startRun(base), [report({ inputCount: 1, outputCount: 1, output: [staged("e", 1)] }), report({ inputCount: 1, outputCount: 1, output: [staged("t", 1)] }), report({ inputCount: 1, outputCount: 1 })]), 2000);
    expect(succeeded.status).toBe("succeeded");
    expect(checkRetryable(succeeded)).toMatchObject({ ok: false, reason: expect.stringContaining("succeeded; there is nothing to retry") });
    const skipped = skipRun({ ...base, reason: "missed" });
    expect(checkRetryable(skipped)).toMatchObject({ ok: false, reason: expect.stringContaining("backfill it (POST …/backfill with from = 1970-01-01T00:00:01.000Z)") });
  });
});

describe("what a retry reuses", () => {
  it("the stages before the one that failed, with their staged output", () => {
    expect(reusableStages(failedAtLoad())).toEqual(["extract", "transform"]);
    const failedInTransform = stageFailed(stageStarted(through(startRun(base), [extractReport]), "transform", 1200), "transform", "boom", 1300);
    expect(reusableStages(failedInTransform)).toEqual(["extract"]);
    const failedInExtract = stageFailed(stageStarted(startRun(base), "extract", 1010), "extract", "HTTP 500", 1100);
    expect(reusableStages(failedInExtract)).toEqual([]);
  });

  it("nothing when every stage succeeded and the run failed anyway (its books did not balance)", () => {
    const unbalanced = completeRun(through(startRun(base), [report({ inputCount: 3, outputCount: 3, output: [staged("e", 3)] }), report({ inputCount: 3, outputCount: 3, output: [staged("t", 3)] }), report({ inputCount: 3, outputCount: 2 })]), 2000);
    expect(unbalanced.status).toBe("failed");
    expect(reusableStages(unbalanced)).toEqual([]);
    expect(planRetry(unbalanced, keptEverything)).toEqual({ reused: [], note: null });
  });

  it("from extract, saying why, when the original's staged data is gone", () => {
    const plan = planRetry(failedAtLoad(), { ...keptEverything, stagingKept: () => false });
    expect(plan).toEqual({ reused: [], note: "the staged data of run scheduled-1000 was removed; starting from extract" });
  });

  it("not the transform's rows when the destination changed since: transform runs again on the reused extract", () => {
    expect(planRetry(failedAtLoad(), { ...keptEverything, destinationChanged: true })).toEqual({
      reused: ["extract"],
      note: "the destination's table or columns changed since run scheduled-1000; transform runs again",
    });
  });
});

describe("the retry run", () => {
  it("starts at the failed stage with the reused stages' counts, rejections, skips and source, the same slot, params and watermark", () => {
    const original = failedAtLoad();
    const retry = retryRun(original, { runId: "retry-5000", now: 5000, destination: "d1://db/metrics", plan: planRetry(original, keptEverything) });
    expect(retry).toMatchObject({
      runId: "retry-5000",
      trigger: "retry",
      status: "running",
      scheduledFor: 1000,
      asOf: 1000,
      params: { region: "eu" },
      inputWatermark: "2026-11-27T00:00:00Z",
      retry: { of: "scheduled-1000", fromStage: "load", reused: ["extract", "transform"], note: null },
      rejectedCount: 2,
      skippedCount: 1,
      source: extractReport.source,
      startTime: 5000,
    });
    expect(retry.rejected.map((entry) => entry.reason)).toEqual(["not JSON", "value is negative"]);
    expect(retry.stages.map((stage) => [stage.name, stage.status, stage.reusedFrom ?? null, stage.attempts])).toEqual([
      ["extract", "succeeded", "scheduled-1000", 0],
      ["transform", "succeeded", "scheduled-1000", 0],
      ["load", "pending", null, 0],
    ]);
    // The next step is load, reading the original's transformed rows and its rejections.
    const step = nextStep(retry);
    // A reused stage did not run in the retry, ahead of its turn or in it.
    const followed = { ...original, stages: original.stages.map((stage) => (stage.name === "transform" ? { ...stage, aheadMs: 700 } : stage)) };
    const again = retryRun(followed, { runId: "retry-5001", now: 5001, destination: "d1://db/metrics", plan: planRetry(followed, keptEverything) });
    expect(again.stages.find((stage) => stage.name === "transform")!.aheadMs).toBeUndefined();
    expect(step).toEqual({ kind: "run-stage", stage: "load", input: { records: transformReport.output, rejected: [transformReport.rejected], raw: extractReport.output[0] } });
    // Once load has loaded the two rows, the books balance: 5 extracted = 2 loaded + 2 rejected + 1 skipped.
    const done = completeRun(stageSucceeded(stageStarted(retry, "load", 5100), "load", report({ inputCount: 2, outputCount: 2 }), 5200), 5300);
    expect(done.status).toBe("succeeded");
    expect(accountFor(done)).toEqual({ extracted: 5, loaded: 2, rejected: 2, skipped: 1, balanced: true });
  });

  it("a retry of a retry still points at the run that holds the staged data", () => {
    const original = failedAtLoad();
    const first = retryRun(original, { runId: "retry-5000", now: 5000, destination: "d1://db/metrics", plan: planRetry(original, keptEverything) });
    const firstFailed = stageFailed(stageStarted(first, "load", 5100), "load", "D1 overloaded", 5200);
    expect(stagingOwners(firstFailed, reusableStages(firstFailed))).toEqual(["scheduled-1000"]);
    const second = retryRun(firstFailed, { runId: "retry-6000", now: 6000, destination: "d1://db/metrics", plan: planRetry(firstFailed, keptEverything) });
    expect(second.retry).toEqual({ of: "retry-5000", fromStage: "load", reused: ["extract", "transform"], note: null });
    expect(second.stages.map((stage) => stage.reusedFrom ?? null)).toEqual(["scheduled-1000", "scheduled-1000", null]);
  });

  it("from extract carries nothing over, and says why", () => {
    const original = failedAtLoad();
    const retry = retryRun(original, { runId: "retry-5000", now: 5000, destination: "d1://db/metrics", plan: planRetry(original, { ...keptEverything, stagingKept: () => false }) });
    expect(retry).toMatchObject({ rejectedCount: 0, skippedCount: 0, rejected: [], source: null, checkpoints: {}, retry: { fromStage: "extract", reused: [], note: expect.stringContaining("starting from extract") } });
    expect(retry.stages.every((stage) => stage.status === "pending")).toBe(true);
  });

  it("the original records that it was retried, and by which runs", () => {
    const original = failedAtLoad();
    expect(markRetried(markRetried(original, "retry-5000"), "retry-6000").retriedBy).toEqual(["retry-5000", "retry-6000"]);
  });
});

describe("a retry and the watermark", () => {
  it("carries the newest watermark value transform found, and reads incrementally as its original did", () => {
    const original = { ...failedAtLoad(), newestWatermark: "2026-11-28T03:00:00Z" };
    const retry = retryRun(original, { runId: "retry-5000", now: 5000, destination: "d1://db/metrics", plan: planRetry(original, keptEverything) });
    expect(retry).toMatchObject({ newestWatermark: "2026-11-28T03:00:00Z", incremental: true });
    const fromExtract = retryRun(original, { runId: "retry-5001", now: 5001, destination: "d1://db/metrics", plan: { reused: ["extract"], note: null } });
    expect(fromExtract.newestWatermark).toBeNull();
    const ofBackfill = retryRun({ ...original, trigger: "backfill", incremental: false }, { runId: "retry-5002", now: 5002, destination: "d1://db/metrics", plan: planRetry(original, keptEverything) });
    expect(ofBackfill.incremental).toBe(false);
  });
});

describe("a retry after the dataset checks blocked the load", () => {
  const failedCheck = { name: "row_count", type: "row_count" as const, severity: "error" as const, outcome: "failed" as const, expected: "at least 3 rows", found: "2 rows", offending: null, sample: [] };
  const blocked = checksJudged(through(startRun(base), [extractReport, transformReport]), checkReport([failedCheck], 1200), 1200);
  const kept: RetryConditions = { stagingKept: () => true, stagingGone: () => "gone", destinationChanged: false };

  it("fails the run with checks_failed, its load skipped, and reuses extract and transform", () => {
    expect(blocked).toMatchObject({ status: "failed", errorCode: "checks_failed", error: "checks failed: row_count: expected at least 3 rows, found 2 rows" });
    expect(blocked.stages.map((stage) => stage.status)).toEqual(["succeeded", "succeeded", "skipped"]);
    expect(planRetry(blocked, kept).reused).toEqual(["extract", "transform"]);
  });

  it("accepts only checks that failed, and only with the checked batch reused", () => {
    const plan = planRetry(blocked, kept);
    expect(acceptanceProblem(blocked, ["row_count"], plan)).toBeNull();
    expect(acceptanceProblem(blocked, ["freshness(at)"], plan)).toMatchObject({ code: "checks_not_failed" });
    expect(acceptanceProblem(blocked, ["row_count"], startingAt(plan, "transform"))).toMatchObject({ code: "checks_not_reusable" });
    expect(acceptanceProblem(through(startRun(base), [extractReport]), ["row_count"], plan)).toMatchObject({ code: "checks_not_failed" });
    expect(acceptanceProblem(blocked, ["row_count"], plan, "manual-2000")).toMatchObject({ code: "batch_superseded" });
  });

  it("starts no later than fromStage", () => {
    const plan = planRetry(blocked, kept);
    expect(startingAt(plan, "transform")).toEqual({ reused: ["extract"], note: "asked to start from transform" });
    expect(startingAt(plan, "extract").reused).toEqual([]);
    expect(startingAt(plan, "load")).toBe(plan);
  });
});
