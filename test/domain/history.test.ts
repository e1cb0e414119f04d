/** History summary arithmetic and the opaque pagination cursor. */
import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor, summarize, summarizeGroups } from "../../src/domain/history";

describe("summarize", () => {
  it("is empty before any run", () => {
    expect(summarize([])).toEqual({
      totalRuns: 0,
      succeeded: 0,
      failed: 0,
      skipped: 0,
      cancelled: 0,
      running: 0,
      successRate: null,
      averageDurationMs: null,
      lastRunAt: null,
    });
  });

  it("counts failed runs in the rate and the average, and leaves skipped, cancelled and running runs out of both", () => {
    expect(
      summarize([
        { status: "succeeded", startTime: 100, durationMs: 200 },
        { status: "succeeded", startTime: 300, durationMs: 400 },
        { status: "failed", startTime: 500, durationMs: 60 },
        { status: "skipped", startTime: 700, durationMs: 0 },
        { status: "cancelled", startTime: 800, durationMs: 5000 },
        { status: "running", startTime: 900, durationMs: null },
      ]),
    ).toEqual({
      totalRuns: 6,
      succeeded: 2,
      failed: 1,
      skipped: 1,
      cancelled: 1,
      running: 1,
      successRate: 0.6667,
      averageDurationMs: 220,
      lastRunAt: 900,
    });
  });
});

describe("history cursors", () => {
  it("round-trip", () => {
    const cursor = { startTime: 1_795_875_000_321, runId: "manual-1795875000321" };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it.each(["garbage", "", "!!!", btoa("[1]"), btoa('["x","y"]'), btoa("{}"), "a".repeat(500)])("refuse %j", (text) => {
    expect(decodeCursor(text)).toBeNull();
  });
});

describe("summarizeGroups", () => {
  it("reads per-status aggregates as the database returns them", () => {
    expect(
      summarizeGroups([
        { status: "succeeded", runs: 2, durationTotal: 600, durationCount: 2, lastStart: 300 },
        { status: "failed", runs: 1, durationTotal: 60, durationCount: 1, lastStart: 500 },
        { status: "running", runs: 1, durationTotal: 0, durationCount: 0, lastStart: 900 },
      ]),
    ).toMatchObject({ totalRuns: 4, succeeded: 2, failed: 1, running: 1, successRate: 0.6667, averageDurationMs: 220, lastRunAt: 900 });
  });
});
