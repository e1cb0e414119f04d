/** Pins down slot maths (the next 03:00 UTC) and how the scheduler keeps exactly one future slot armed. */
import { describe, expect, it } from "vitest";
import { checkSchedule, DEFAULT_SCHEDULE, nextSlot, planArming, slotInterval, type ScheduleSpec } from "../../src/domain/schedule";

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
    ["61 3 * * *", /invalid cron "61 3 \* \* \*": .*minute/],
    ["0 3 * * * *", /invalid cron "0 3 \* \* \* \*": .*5 parts/],
    ["every day", /invalid cron "every day"/],
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
