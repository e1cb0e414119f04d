/**
 * Planning a catch-up costs work in proportion to the catch-up window, not to the outage: one croner
 * instance per plan, and a bounded number of questions to it. Counted, not timed: croner is wrapped so
 * every instance and every call is seen.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";

const work = vi.hoisted(() => ({ instances: 0, calls: 0 }));

vi.mock("croner", async (importOriginal) => {
  const original = await importOriginal<typeof import("croner")>();
  class CountingCron extends original.Cron {
    constructor(pattern: string, options: { timezone: string; mode: "5-part" }) {
      super(pattern, options);
      work.instances += 1;
    }
    override nextRun(...args: Parameters<InstanceType<typeof original.Cron>["nextRun"]>) {
      work.calls += 1;
      return super.nextRun(...args);
    }
    override previousRuns(...args: Parameters<InstanceType<typeof original.Cron>["previousRuns"]>) {
      work.calls += 1;
      return super.previousRuns(...args);
    }
  }
  return { ...original, Cron: CountingCron };
});

const { DEFAULT_SCHEDULE, MAX_DROPPED_COUNT, planCatchUp } = await import("../../src/domain/schedule");

describe("planCatchUp after 30 days offline on a per-minute schedule", () => {
  beforeEach(() => {
    work.instances = 0;
    work.calls = 0;
  });

  const everyMinute = { ...DEFAULT_SCHEDULE, cron: "* * * * *", missedRuns: "all" as const, maxCatchUp: 10, missedAfterMs: 0 };
  const now = Date.parse("2026-11-28T12:00:30Z");
  const thirtyDaysAgo = now - 30 * 86_400_000;

  it("builds one Cron and asks it a bounded number of questions (43,200 missed slots)", () => {
    const plan = planCatchUp(everyMinute, thirtyDaysAgo, now);
    expect(work.instances).toBe(1);
    expect(work.calls).toBeLessThanOrEqual(MAX_DROPPED_COUNT + 2);
    expect(plan.run).toHaveLength(10);
    expect(plan.run.at(-1)).toBe(Date.parse("2026-11-28T12:00:00Z"));
    expect(plan.skip).toHaveLength(40);
    expect(plan.dropped).toBe(MAX_DROPPED_COUNT);
  });

  it("does the same work after a week as after 30 days", () => {
    planCatchUp(everyMinute, now - 7 * 86_400_000, now);
    const week = work.calls;
    work.calls = 0;
    planCatchUp(everyMinute, thirtyDaysAgo, now);
    expect(work.calls).toBe(week);
  });

  it("needs no Cron at all for a fixed interval", () => {
    const plan = planCatchUp({ ...everyMinute, cron: null, intervalMs: 60_000 }, thirtyDaysAgo, now);
    expect(work.instances).toBe(0);
    expect(plan.run).toHaveLength(10);
    expect(plan.dropped).toBe(MAX_DROPPED_COUNT);
  });
});
