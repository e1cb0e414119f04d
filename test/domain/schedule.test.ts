/** Pins down slot maths (the next 03:00 UTC) and how the scheduler keeps exactly one future slot armed. */
import { describe, expect, it } from "vitest";
import { applyScheduleChange } from "../../src/domain/schedule-change";
import { checkSchedule, DEFAULT_SCHEDULE, nextSlot, parseDeadline, planArming, slotInterval, slotsInRange, type ScheduleSpec } from "../../src/domain/schedule";

const at = (iso: string) => Date.parse(iso);
const cron = (expression: string, timezone = "UTC"): ScheduleSpec => ({ ...DEFAULT_SCHEDULE, cron: expression, timezone });

describe("nextSlot for the default schedule (0 3 * * *, UTC)", () => {
  it("before 03:00 is today's 03:00", () => {
    expect(nextSlot(DEFAULT_SCHEDULE, at("2026-11-28T02:59:59.999Z"))).toBe(at("2026-11-28T03:00:00.000Z"));
    expect(nextSlot(DEFAULT_SCHEDULE, at("2026-11-28T00:00:00.000Z"))).toBe(at("2026-11-28T03:00:00.000Z"));
  });

  it("at exactly 03:00 is tomorrow's: the current slot is the one firing", () => {
    expect(nextSlot(DEFAULT_SCHEDULE, at("2026-11-28T03:00:00.000Z"))).toBe(at("2026-11-29T03:00:00.000Z"));
  });

  it("after 03:00 is tomorrow's", () => {
    expect(nextSlot(DEFAULT_SCHEDULE, at("2026-11-28T03:00:00.001Z"))).toBe(at("2026-11-29T03:00:00.000Z"));
    expect(nextSlot(DEFAULT_SCHEDULE, at("2026-11-28T23:59:59.000Z"))).toBe(at("2026-11-29T03:00:00.000Z"));
  });

  it("crosses month and year ends", () => {
    expect(nextSlot(DEFAULT_SCHEDULE, at("2026-12-31T04:00:00Z"))).toBe(at("2027-01-01T03:00:00Z"));
    expect(nextSlot(DEFAULT_SCHEDULE, at("2028-02-28T03:30:00Z"))).toBe(at("2028-02-29T03:00:00Z"));
  });

  it("reports a daily interval of 86,400,000 ms", () => {
    expect(slotInterval(DEFAULT_SCHEDULE, at("2026-11-28T12:00:00Z"))).toBe(86_400_000);
    expect(slotInterval(cron("0 */6 * * *"), at("2026-11-28T12:00:00Z"))).toBe(21_600_000);
  });
});

describe("checkSchedule", () => {
  it("accepts 5-field expressions", () => {
    expect(checkSchedule(cron("*/15 * * * 1-5"))).toEqual({ ok: true });
  });

  it.each([
    ["61 3 * * *", /^cron "61 3 \* \* \*": the minute field 61 is out of range 0-59$/],
    ["0 3 * * * *", /^cron "0 3 \* \* \* \*" has 6 fields; a cron expression has 5: minute hour day-of-month month day-of-week/],
    ["every day", /^cron "every day" has 2 fields; a cron expression has 5/],
    ["0 0 30 2 *", /cron "0 0 30 2 \*" never fires/],
  ])("refuses %j with a reason", (expression, reason) => {
    const result = checkSchedule(cron(expression));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });
});

describe("planArming keeps exactly one future slot armed", () => {
  const now = at("2026-11-28T12:00:00Z");
  const tomorrow = at("2026-11-29T03:00:00Z");

  it("arms the wanted slot when nothing is armed", () => {
    expect(planArming([], tomorrow, now)).toEqual({ cancel: [], arm: tomorrow });
  });

  it("changes nothing when the wanted slot is armed (waking again is a no-op)", () => {
    expect(planArming([{ id: "a", slot: tomorrow }], tomorrow, now)).toEqual({ cancel: [], arm: null });
  });

  it("cancels duplicates of the wanted slot", () => {
    expect(planArming([{ id: "a", slot: tomorrow }, { id: "b", slot: tomorrow }], tomorrow, now)).toEqual({ cancel: ["b"], arm: null });
  });

  it("replaces a slot of an old cron expression", () => {
    const oldCronSlot = at("2026-11-29T06:00:00Z");
    expect(planArming([{ id: "old", slot: oldCronSlot }], tomorrow, now)).toEqual({ cancel: ["old"], arm: tomorrow });
  });

  it("leaves a slot that is already due to its alarm", () => {
    const due = at("2026-11-28T03:00:00Z");
    expect(planArming([{ id: "due", slot: due }], tomorrow, now)).toEqual({ cancel: [], arm: tomorrow });
  });

  it("disarms every future slot when there is no wanted slot", () => {
    expect(planArming([{ id: "a", slot: tomorrow }], null, now)).toEqual({ cancel: ["a"], arm: null });
  });
});

describe("slotsInRange: a schedule's slots in [from, to)", () => {
  const HOUR = 3_600_000;
  const berlin: ScheduleSpec = { ...DEFAULT_SCHEDULE, cron: "0 3 * * *", timezone: "Europe/Berlin" };

  it("includes from and excludes to, in the schedule's time zone, across a daylight-saving change", () => {
    // Berlin leaves summer time on 2026-10-25: 03:00 local is 01:00 UTC before, 02:00 UTC after.
    const { slots, more } = slotsInRange(berlin, Date.parse("2026-10-23T01:00:00Z"), Date.parse("2026-10-27T02:00:00Z"), 10);
    expect(slots.map((slot) => new Date(slot).toISOString())).toEqual(["2026-10-23T01:00:00.000Z", "2026-10-24T01:00:00.000Z", "2026-10-25T02:00:00.000Z", "2026-10-26T02:00:00.000Z"]);
    expect(more).toBe(false);
  });

  it("stops at max and says there is more, whatever the length of the range", () => {
    const everyMinute: ScheduleSpec = { ...DEFAULT_SCHEDULE, cron: null, intervalMs: 60_000 };
    const started = Date.now();
    expect(slotsInRange(everyMinute, 0, 100 * 365 * 24 * HOUR, 3)).toEqual({ slots: [0, 60_000, 120_000], more: true });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(slotsInRange(everyMinute, 30_000, 120_000, 10)).toEqual({ slots: [60_000], more: false });
  });
});

describe("deadlines", () => {
  it("parse like intervals, between a minute and 30 days", () => {
    expect(parseDeadline("2h")).toEqual({ ok: true, ms: 7_200_000 });
    expect(parseDeadline("90s")).toEqual({ ok: true, ms: 90_000 });
    expect(parseDeadline("31d")).toMatchObject({ ok: false });
    expect(parseDeadline("2 hours")).toEqual({ ok: false, reason: 'deadline "2 hours" is not a duration like "30m", "2h" or "1d"' });
  });

  it("are set and cleared through a schedule change", () => {
    const set = applyScheduleChange(DEFAULT_SCHEDULE, { deadline: "45m" });
    expect(set.ok && set.spec.deadlineMs).toBe(45 * 60_000);
    const cleared = set.ok ? applyScheduleChange(set.spec, { deadline: null }) : set;
    expect(cleared.ok && cleared.spec.deadlineMs).toBeNull();
    expect(applyScheduleChange(DEFAULT_SCHEDULE, { deadline: "0m" })).toEqual({ ok: false, reason: 'deadline must be between 1 minute and 30 days after the slot, got "0m"' });
  });
});
