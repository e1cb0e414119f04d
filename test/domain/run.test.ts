/**
 * Run bookkeeping as given/when/then: a run moves through its stages, checkpoints each stage's staged
 * output, and only succeeds when every extracted record is loaded or rejected.
 */
import { describe, expect, it } from "vitest";
import {
  cancelRun,
  completeRun,
  giveUp,
  nextStep,
  runResumed,
  stageAttemptFailed,
  stageProgressed,
  skipRun,
  stageFailed,
  stageStarted,
  stageSucceeded,
  startRun,
  upgradeRun,
  type Run,
} from "../../src/domain/run";
import { toRunView } from "../../src/domain/run-view";
import type { StageReport } from "../../src/domain/stage-report";
import { judgeStall } from "../../src/domain/stall";
import { backfillId, backfillRunId, manualRunId, retryRunId, scheduledRunId } from "../../src/domain/run-ids";

const fresh = { runId: "manual-1000", pipeline: "default", trigger: "manual" as const, scheduledFor: null, destination: "d1://db/metrics", now: 1000 };
const staged = (name: string, count: number) => ({ keys: count > 0 ? [`runs/manual-1000/${name}`] : [], counts: count > 0 ? [count] : [], count });
const report = (partial: Partial<StageReport>): StageReport => ({
  inputCount: 0,
  outputCount: 0,
  rejectedCount: 0,
  output: [],
  rejected: staged("none", 0),
  rejectedSample: [],
  ...partial,
});

function runThrough(run: Run, reports: StageReport[], start = 1000): Run {
  let current = run;
  let now = start;
  for (const stageReport of reports) {
    const step = nextStep(current);
    if (step.kind !== "run-stage") throw new Error(`expected a stage, got ${step.kind}`);
    current = stageSucceeded(stageStarted(current, step.stage, (now += 10)), step.stage, stageReport, (now += 100));
  }
  return current;
}

const sampleReports = [
  report({ inputCount: 4, outputCount: 4, output: [staged("extract", 4)] }),
  report({
    inputCount: 4,
    outputCount: 3,
    rejectedCount: 1,
    output: [staged("transform", 3)],
    rejected: staged("transform-rejected", 1),
    rejectedSample: [{ position: 1, id: "rec-2", stage: "transform", reason: 'value "invalid" is not a number' }],
  }),
  report({ inputCount: 3, outputCount: 3 }),
];

describe("a run of the sample data", () => {
  it("starts with three pending stages and extract first, reading nothing", () => {
    const run = startRun(fresh);
    expect(run.status).toBe("running");
    expect(run.stages.map((stage) => [stage.name, stage.status])).toEqual([
      ["extract", "pending"],
      ["transform", "pending"],
      ["load", "pending"],
    ]);
    expect(nextStep(run)).toEqual({
      kind: "run-stage",
      stage: "extract",
      input: { records: [{ keys: [], counts: [], count: 0 }], rejected: [], raw: { keys: [], counts: [], count: 0 } },
    });
  });

  it("hands each stage the previous stage's staged output, and load every staged rejection", () => {
    const afterExtract = runThrough(startRun(fresh), sampleReports.slice(0, 1));
    expect(nextStep(afterExtract)).toEqual({
      kind: "run-stage",
      stage: "transform",
      input: { records: [staged("extract", 4)], rejected: [], raw: staged("extract", 4) },
    });
    const afterTransform = runThrough(startRun(fresh), sampleReports.slice(0, 2));
    expect(nextStep(afterTransform)).toEqual({
      kind: "run-stage",
      stage: "load",
      input: { records: [staged("transform", 3)], rejected: [staged("transform-rejected", 1)], raw: staged("extract", 4) },
    });
  });

  it("succeeds with the seed's final result once all stages have reported", () => {
    const run = runThrough(startRun(fresh), sampleReports);
    expect(nextStep(run)).toEqual({ kind: "complete" });
    const done = toRunView(completeRun(run, 2000));
    expect(done).toMatchObject({
      pipelineId: "manual-1000",
      status: "succeeded",
      startTime: 1000,
      endTime: 2000,
      totalDuration: 1000,
      stagesCompleted: ["extract", "transform", "load"],
      finalResult: { recordCount: 3, destination: "d1://db/metrics", success: true },
      rejected: [{ id: "rec-2", stage: "transform", reason: 'value "invalid" is not a number' }],
      rejectedCount: 1,
    });
    expect(done.stages.map((stage) => [stage.name, stage.inputCount, stage.outputCount, stage.rejectedCount, stage.attempts])).toEqual([
      ["extract", 4, 4, 0, 1],
      ["transform", 4, 3, 1, 1],
      ["load", 3, 3, 0, 1],
    ]);
    expect(done.error).toBeUndefined();
  });

  it("is not succeeded when a record is unaccounted for", () => {
    const lossy = [...sampleReports.slice(0, 2), report({ inputCount: 3, outputCount: 2 })];
    const done = completeRun(runThrough(startRun(fresh), lossy), 2000);
    expect(done.status).toBe("failed");
    expect(done.error).toBe("accounting mismatch: extracted 4, loaded 2, rejected 1, skipped 0");
    expect(done.finalResult?.success).toBe(false);
  });
});

describe("a failing stage", () => {
  it("fails the run with the stage's error and skips the stages after it", () => {
    const started = stageStarted(startRun(fresh), "extract", 1010);
    const failed = toRunView(stageFailed(started, "extract", "the source answered HTTP 500", 1050));
    expect(failed.status).toBe("failed");
    expect(failed.error).toBe("extract stage failed: the source answered HTTP 500");
    expect(failed.finalResult).toEqual({
      recordCount: 0,
      destination: "d1://db/metrics",
      success: false,
      errors: ["extract stage failed: the source answered HTTP 500"],
    });
    expect(failed.stages.map((stage) => stage.status)).toEqual(["failed", "skipped", "skipped"]);
    expect(failed.stages[0]).toMatchObject({ durationMs: 40, error: "the source answered HTTP 500" });
    expect(nextStep(stageFailed(started, "extract", "x", 1050))).toEqual({ kind: "none" });
  });
});

describe("an interrupted stage", () => {
  it("is run again, counting the attempt and keeping its first start time", () => {
    const interrupted = stageStarted(startRun(fresh), "extract", 1010);
    expect(nextStep(interrupted)).toMatchObject({ kind: "run-stage", stage: "extract" });
    const retried = stageStarted(interrupted, "extract", 5000);
    expect(retried.stages[0]).toMatchObject({ status: "running", attempts: 2, startTime: 1010 });
  });
});

describe("a skipped slot", () => {
  it("is recorded as a finished run that names the active run", () => {
    const skipped = toRunView(skipRun({ ...fresh, runId: "scheduled-5000", trigger: "scheduled", scheduledFor: 5000, reason: "run manual-900 was still active" }));
    expect(skipped).toMatchObject({
      pipelineId: "scheduled-5000",
      status: "skipped",
      trigger: "scheduled",
      scheduledFor: 5000,
      stagesCompleted: [],
      error: "skipped: run manual-900 was still active",
    });
    expect(skipped.stages.map((stage) => stage.status)).toEqual(["skipped", "skipped", "skipped"]);
  });
});

describe("run ids", () => {
  it("name manual runs after the request, scheduled runs after their slot, backfill runs after both", () => {
    expect(manualRunId(1_700_000_000_000)).toBe("manual-1700000000000");
    expect(scheduledRunId(1_700_010_800_000)).toBe("scheduled-1700010800000");
    expect(backfillRunId(backfillId(1_700_000_000_000), 1_700_010_800_000)).toBe("backfill-1700010800000-bf-1700000000000");
    expect(retryRunId(1_700_000_000_001)).toBe("retry-1700000000001");
  });
});

describe("progress, retries and resumes", () => {
  it("progress updates the running stage's counts and the proof of life", () => {
    const running = stageStarted(startRun(fresh), "extract", 1010);
    const progressed = stageProgressed(running, "extract", { inputCount: 5000, outputCount: 5000, rejectedCount: 0 }, 1500);
    expect(progressed.lastProgressAt).toBe(1500);
    expect(progressed.stages[0]).toMatchObject({ inputCount: 5000, outputCount: 5000, status: "running" });
  });

  it("a failed attempt stays running, remembers its error, and counts as an attempt when retried", () => {
    const running = stageStarted(startRun(fresh), "extract", 1010);
    const failedOnce = stageAttemptFailed(running, "extract", "the source answered HTTP 503", 1100);
    expect(failedOnce.stages[0]).toMatchObject({ status: "running", attempts: 1, attemptErrors: ["the source answered HTTP 503"] });
    const retried = stageStarted(failedOnce, "extract", 1600);
    expect(retried.stages[0]).toMatchObject({ attempts: 2, startTime: 1010 });
  });

  it("a resume counts and resets the stall clock", () => {
    const resumed = runResumed(stageStarted(startRun(fresh), "transform", 1010), 9000);
    expect(resumed).toMatchObject({ resumes: 1, lastProgressAt: 9000 });
  });
});

describe("stall detection", () => {
  const policy = { stallTimeoutMs: 60_000, maxResumes: 2 };
  const running = stageStarted(startRun(fresh), "load", 1_000);

  it("leaves a run alone while it makes progress", () => {
    expect(judgeStall(running, 60_999, policy)).toEqual({ kind: "healthy" });
  });

  it("resumes a run with no progress for the stall timeout", () => {
    expect(judgeStall(running, 61_000, policy)).toEqual({ kind: "resume" });
  });

  it("gives up after the maximum number of resumes, saying why", () => {
    const tired = { ...running, resumes: 2 };
    expect(judgeStall(tired, 121_000, policy)).toEqual({ kind: "give-up", reason: "no progress for 120 s after 2 resumes (limit 2)" });
    const failed = toRunView(giveUp(tired, "no progress for 120 s after 2 resumes (limit 2)", 121_000));
    expect(failed).toMatchObject({ status: "failed", error: "load stage failed: no progress for 120 s after 2 resumes (limit 2)" });
  });

  it("ignores finished runs", () => {
    expect(judgeStall(completeRun(runThrough(startRun(fresh), sampleReports), 2000), 10_000_000, policy)).toEqual({ kind: "healthy" });
  });
});

describe("cancelling", () => {
  it("stops the run where it stands, keeping the partial counts, and skips what had not started", () => {
    const loading = stageProgressed(
      stageStarted(runThrough(startRun(fresh), sampleReports.slice(0, 2)), "load", 1300),
      "load",
      { inputCount: 3, outputCount: 2, rejectedCount: 0 },
      1350,
    );
    const cancelled = toRunView(cancelRun(loading, "operator asked", 1400));
    expect(cancelled).toMatchObject({
      status: "cancelled",
      error: "cancelled: operator asked",
      endTime: 1400,
      currentStage: null,
      finalResult: { recordCount: 2, success: false, errors: ["cancelled: operator asked"] },
    });
    expect(cancelled.stages.map((stage) => [stage.name, stage.status, stage.outputCount])).toEqual([
      ["extract", "succeeded", 4],
      ["transform", "succeeded", 3],
      ["load", "cancelled", 2],
    ]);
    expect(cancelled.accounting).toEqual({ extracted: 4, loaded: 2, rejected: 1, skipped: 0, balanced: false });
  });

  it("before any stage started cancels the first stage and skips the rest", () => {
    const cancelled = cancelRun(startRun(fresh), "changed my mind", 1001);
    expect(cancelled.stages.map((stage) => stage.status)).toEqual(["cancelled", "skipped", "skipped"]);
  });

  it("does nothing to a finished run", () => {
    const done = completeRun(runThrough(startRun(fresh), sampleReports), 2000);
    expect(cancelRun(done, "late", 3000)).toBe(done);
  });
});

describe("the accounting invariant in the view", () => {
  it("is recorded on every run", () => {
    const done = toRunView(completeRun(runThrough(startRun(fresh), sampleReports), 2000));
    expect(done.accounting).toEqual({ extracted: 4, loaded: 3, rejected: 1, skipped: 0, balanced: true });
  });
});

describe("records a pipeline skips", () => {
  it("are counted and balance the books beside loaded and rejected", () => {
    const run = runThrough(startRun(fresh), [
      report({ inputCount: 5, outputCount: 5, output: [staged("extract", 5)] }),
      report({ inputCount: 5, outputCount: 3, rejectedCount: 1, skippedCount: 1, output: [staged("transform", 3)] }),
      report({ inputCount: 3, outputCount: 3 }),
    ]);
    const done = completeRun(run, 2000);
    expect(done.status).toBe("succeeded");
    expect(toRunView(done).accounting).toEqual({ extracted: 5, loaded: 3, rejected: 1, skipped: 1, balanced: true });
  });
});

describe("a run saved by an earlier version", () => {
  it("is read with its id, watermark and a zero skip count", () => {
    const legacy = { ...startRun(fresh), pipelineId: "manual-7", maxTimestamp: "2024-01-01T00:00:00Z" } as Record<string, unknown>;
    delete legacy.runId;
    delete legacy.newestWatermark;
    delete legacy.skippedCount;
    const run = upgradeRun(legacy);
    expect(run).toMatchObject({ runId: "manual-7", newestWatermark: "2024-01-01T00:00:00Z", skippedCount: 0 });
    expect("pipelineId" in run).toBe(false);
    expect(toRunView(run).pipelineId).toBe("manual-7");
  });
});
