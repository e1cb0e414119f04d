/**
 * Time zones, daylight saving, fixed intervals, the missed-run policies and schedule changes, as pure
 * functions. The daylight-saving rules tested here are the ones the README documents.
 */
import { describe, expect, it } from "vitest";
import { applyScheduleChange } from "../../src/domain/schedule-change";
import { checkSchedule, DEFAULT_SCHEDULE, formatInterval, MAX_DROPPED_COUNT, nextSlot, parseInterval, planCatchUp, slotInterval, slotsBetween, type ScheduleSpec } from "../../src/domain/schedule";
import { computeStats, percentile } from "../../src/domain/stats";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const cron = (expression: string, timezone: string): ScheduleSpec => ({ ...DEFAULT_SCHEDULE, cron: expression, timezone });

describe("03:00 every day in Europe/Berlin", () => {
  const berlin = cron("0 3 * * *", "Europe/Berlin");
  it("is 02:00 UTC in winter and 01:00 UTC in summer", () => {
    expect(iso(nextSlot(berlin, at("2026-01-10T00:00:00Z")))).toBe("2026-01-10T02:00:00.000Z");
    expect(iso(nextSlot(berlin, at("2026-07-10T00:00:00Z")))).toBe("2026-07-10T01:00:00.000Z");
  });
  it("has 23- and 25-hour intervals on the change days", () => {
    expect(slotInterval(berlin, at("2026-03-27T12:00:00Z"))).toBe(23 * 3_600_000);
    expect(slotInterval(berlin, at("2026-10-23T12:00:00Z"))).toBe(25 * 3_600_000);
  });
});

describe.each([
  ["Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00.000Z", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00.000Z"],
  ["America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00.000Z", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00.000Z"],
])("daylight saving in %s", (zone, beforeSpring, springSlot, beforeFall, fallSlot) => {
  it("runs a slot that does not exist (spring forward) at the first valid instant after the gap, 03:00 local", () => {
    expect(iso(nextSlot(cron("30 2 * * *", zone), at(beforeSpring)))).toBe(springSlot);
  });

  it("runs a slot that exists twice (fall back) once, at its first occurrence", () => {
    const repeated = zone === "Europe/Berlin" ? "30 2 * * *" : "30 1 * * *";
    const spec = cron(repeated, zone);
    const first = nextSlot(spec, at(beforeFall));
    expect(iso(first)).toBe(fallSlot);
    const { slots } = slotsBetween(spec, first! - 1, first! + 20 * 3_600_000, 10);
    expect(slots).toEqual([first]);
  });
});

describe("fixed intervals", () => {
  it("count from the Unix epoch", () => {
    const every6h: ScheduleSpec = { ...DEFAULT_SCHEDULE, cron: null, intervalMs: 6 * 3_600_000 };
    expect(iso(nextSlot(every6h, at("2026-11-28T13:00:00Z")))).toBe("2026-11-28T18:00:00.000Z");
    expect(slotInterval(every6h, 0)).toBe(21_600_000);
  });
  it.each([
    ["90s", 90_000],
    ["15m", 900_000],
    ["6h", 21_600_000],
    ["1d", 86_400_000],
    ["6 h", 21_600_000],
    ["6x", null],
    ["", null],
    ["-1h", null],
  ])("parse %j as %j", (text, ms) => {
    expect(parseInterval(text)).toBe(ms);
  });
  it("format back to the shortest unit", () => {
    expect([formatInterval(21_600_000), formatInterval(90_000), formatInterval(86_400_000)]).toEqual(["6h", "90s", "1d"]);
  });
});

describe("checkSchedule", () => {
  it("names a bad time zone", () => {
    expect(checkSchedule(cron("0 3 * * *", "Mars/Olympus"))).toEqual({ ok: false, reason: 'timezone "Mars/Olympus" is not an IANA time zone (for example "Europe/Berlin" or "UTC")' });
  });
  it("refuses intervals under a minute", () => {
    expect(checkSchedule({ ...DEFAULT_SCHEDULE, cron: null, intervalMs: 30_000 })).toEqual({ ok: false, reason: "interval must be between 1 minute and 366 days, got 30000 ms" });
  });
});

describe("missed runs", () => {
  const hourly = (missedRuns: ScheduleSpec["missedRuns"], maxCatchUp = 10): ScheduleSpec => ({ ...cron("0 * * * *", "UTC"), missedRuns, maxCatchUp });
  const last = at("2026-11-28T00:00:00Z");
  const now = at("2026-11-28T05:20:00Z"); // 01:00 … 05:00 passed unseen
  const hours = (...h: number[]) => h.map((hour) => at(`2026-11-28T0${hour}:00:00Z`));

  it("latest (the default) runs the most recent missed slot once and records the others as skipped", () => {
    expect(planCatchUp(hourly("latest"), last, now)).toEqual({ run: hours(5), skip: hours(1, 2, 3, 4), dropped: 0 });
  });
  it("skip runs none of them", () => {
    expect(planCatchUp(hourly("skip"), last, now)).toEqual({ run: [], skip: hours(1, 2, 3, 4, 5), dropped: 0 });
  });
  it("all runs them oldest first, bounded by maxCatchUp", () => {
    expect(planCatchUp(hourly("all"), last, now)).toEqual({ run: hours(1, 2, 3, 4, 5), skip: [], dropped: 0 });
    expect(planCatchUp(hourly("all", 2), last, now)).toEqual({ run: hours(4, 5), skip: hours(1, 2, 3), dropped: 0 });
  });
  it("never builds an unbounded backlog: after a long outage only the newest slots are even listed", () => {
    const plan = planCatchUp(hourly("all", 3), at("2026-01-01T00:00:00Z"), now);
    expect(plan.run).toHaveLength(3);
    expect(plan.skip.length).toBeLessThanOrEqual(50);
    expect(plan.dropped).toBe(MAX_DROPPED_COUNT);
  });
  it("runs a slot delivered on time under every policy", () => {
    for (const policy of ["latest", "skip", "all"] as const) {
      expect(planCatchUp(hourly(policy), at("2026-11-28T04:30:00Z"), at("2026-11-28T05:00:30Z")).run).toEqual(hours(5));
    }
  });
  it("owes nothing to a scheduler that never handled a slot", () => {
    expect(planCatchUp(hourly("all"), null, now)).toEqual({ run: [], skip: [], dropped: 0 });
  });
});

describe("applyScheduleChange", () => {
  it("switches between cron and interval", () => {
    const toInterval = applyScheduleChange(DEFAULT_SCHEDULE, { interval: "6h" });
    expect(toInterval).toMatchObject({ ok: true, spec: { cron: null, intervalMs: 21_600_000 } });
    const back = applyScheduleChange(DEFAULT_SCHEDULE, { cron: "15 4 * * 1-5", timezone: "Europe/Berlin", missedRuns: "skip" });
    expect(back).toMatchObject({ ok: true, spec: { cron: "15 4 * * 1-5", intervalMs: null, timezone: "Europe/Berlin", missedRuns: "skip", enabled: true } });
  });
  it.each([
    [{ cron: "0 3 * * *", interval: "1h" }, "set either cron or interval, not both"],
    [{ interval: "sometimes" }, 'interval "sometimes" is not a duration like "90s", "15m", "6h" or "1d"'],
    [{ cron: "0 25 * * *" }, 'cron "0 25 * * *": the hour field 25 is out of range 0-23'],
    [{ timezone: "Europe/Atlantis" }, 'timezone "Europe/Atlantis" is not an IANA time zone (for example "Europe/Berlin" or "UTC")'],
  ])("refuses %j", (change, reason) => {
    expect(applyScheduleChange(DEFAULT_SCHEDULE, change)).toEqual({ ok: false, reason });
  });
});

describe("stats", () => {
  it("nearest-rank percentiles", () => {
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 95)).toBe(40);
    expect(percentile([], 50)).toBeNull();
  });
  it("count by status, rate over finished runs, durations of finished runs, a series oldest first", () => {
    const stats = computeStats(
      [
        { runId: "b", trigger: "manual", scheduledFor: null, status: "failed", startTime: 200, durationMs: 50, loaded: 0, rejected: 0 },
        { runId: "a", trigger: "scheduled", scheduledFor: 90, status: "succeeded", startTime: 100, durationMs: 120, loaded: 3, rejected: 1 },
        { runId: "c", trigger: "scheduled", scheduledFor: 290, status: "skipped", startTime: 300, durationMs: 0, loaded: 0, rejected: 0 },
        { runId: "d", trigger: "manual", scheduledFor: null, status: "succeeded", startTime: 400, durationMs: 80, loaded: 5, rejected: 2 },
      ],
      "7d",
      0,
    );
    expect(stats).toMatchObject({
      runs: 4,
      byStatus: { succeeded: 2, failed: 1, skipped: 1, cancelled: 0, running: 0 },
      successRate: 0.6667,
      durationMs: { p50: 80, p95: 120, max: 120 },
      records: { loaded: 8, rejected: 3 },
    });
    expect(stats.series.map((point) => point.runId)).toEqual(["a", "b", "c", "d"]);
  });
});
