/** A stage's box on the dashboard: a stage a retry reused says where its output came from. */
import { describe, expect, it } from "vitest";
import type { StageRun } from "../../src/dashboard/api-types";
import { stageCounts, stageTiming } from "../../src/dashboard/stage-text";

const stage = (fields: Partial<StageRun>): StageRun => ({ name: "extract", status: "succeeded", startTime: 0, endTime: 1_500, durationMs: 1_500, inputCount: 4, outputCount: 4, rejectedCount: 0, attempts: 1, attemptErrors: [], ...fields });

describe("stage text", () => {
  it("says how a stage ran, and where a reused stage's output came from", () => {
    expect(stageTiming(stage({}))).toBe("1.5 s · 1 attempt");
    expect(stageTiming(stage({ attempts: 3, durationMs: 90_000 }))).toBe("1m 30s · 3 attempts");
    expect(stageTiming(stage({ name: "transform", durationMs: 70, aheadMs: 2_900 }))).toBe("70 ms · 1 attempt · started 2.9 s ahead");
    expect(stageTiming(stage({ attempts: 0, durationMs: null, reusedFrom: "manual-1" }))).toBe("reused from manual-1");
    expect(stageTiming(stage({ status: "pending", attempts: 0, durationMs: null }))).toBe("not started");
    expect(stageTiming(stage({ status: "skipped", attempts: 0, durationMs: null }))).toBe("not run");
    expect(stageCounts(stage({ rejectedCount: 1234 }))).toBe("in 4 · out 4 · rejected 1,234");
  });
});
