/**
 * The slot mapping between an upstream's slots and a downstream's: which upstream slots a downstream slot
 * consumes (its window) and, the other way round, which downstream slots consume an upstream slot (what a
 * cascade backfills). Days are the downstream's local days, so daylight saving changes give 23- and
 * 25-hour days, each holding the upstream slots its schedule put there.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_SCHEDULE, slotsInRange, type ScheduleSpec } from "../../src/domain/schedule";
import { slotsConsuming, upstreamWindow } from "../../src/domain/upstream-window";

const berlin = (cron: string): ScheduleSpec => ({ ...DEFAULT_SCHEDULE, cron, timezone: "Europe/Berlin" });
const hourly = berlin("15 * * * *");
const daily = berlin("30 2 * * *");
const HOUR = 3_600_000;

function slotOn(spec: ScheduleSpec, isoDay: string): number {
  return slotsInRange(spec, Date.parse(`${isoDay}T00:00:00Z`) - 3 * HOUR, Date.parse(`${isoDay}T23:00:00Z`), 1).slots[0]!;
}

describe("day mapping", () => {
  it("consumes the local day before the slot's day, midnight to midnight in the slot's zone", () => {
    const slot = slotOn(daily, "2026-12-02");
    expect(new Date(slot).toISOString()).toBe("2026-12-02T01:30:00.000Z");
    const window = upstreamWindow("day", slot, daily);
    expect(new Date(window.from).toISOString()).toBe("2026-11-30T23:00:00.000Z");
    expect(new Date(window.to).toISOString()).toBe("2026-12-01T23:00:00.000Z");
    expect(slotsInRange(hourly, window.from, window.to, 100).slots).toHaveLength(24);
  });

  it("holds 23 upstream hours on the day clocks spring forward, 25 on the day they fall back", () => {
    const spring = upstreamWindow("day", slotOn(daily, "2026-03-30"), daily);
    expect((spring.to - spring.from) / HOUR).toBe(23);
    expect(new Date(spring.from).toISOString()).toBe("2026-03-28T23:00:00.000Z");
    expect(slotsInRange(hourly, spring.from, spring.to, 100).slots).toHaveLength(23);
    const autumn = upstreamWindow("day", slotOn(daily, "2026-10-26"), daily);
    expect((autumn.to - autumn.from) / HOUR).toBe(25);
    const autumnSlots = slotsInRange(hourly, autumn.from, autumn.to, 100).slots;
    expect(autumnSlots).toHaveLength(25);
    // 02:15 happens twice that night (CEST, then CET): both are that day's.
    expect(autumnSlots.map((slot) => new Date(slot).toISOString())).toEqual(expect.arrayContaining(["2026-10-25T00:15:00.000Z", "2026-10-25T01:15:00.000Z"]));
  });

  it("reads the day of a slot moved by a gap (02:30 does not exist on 29 March: the slot is 03:00) as that day", () => {
    const slot = slotOn(daily, "2026-03-29");
    expect(new Date(slot).toISOString()).toBe("2026-03-29T01:00:00.000Z");
    const window = upstreamWindow("day", slot, daily);
    expect(new Date(window.from).toISOString()).toBe("2026-03-27T23:00:00.000Z");
    expect(new Date(window.to).toISOString()).toBe("2026-03-28T23:00:00.000Z");
  });

  it("is the day it closes for a clockless pipeline's midnight slot", () => {
    const midnight = berlin("0 0 * * *");
    const slot = slotOn(midnight, "2026-12-02");
    const window = upstreamWindow("day", slot, midnight);
    expect(window.to).toBe(slot);
    expect((window.to - window.from) / HOUR).toBe(24);
  });

  it("is inverted exactly by slotsConsuming for every upstream slot of the weeks around both changes", () => {
    const upstream = [...slotsInRange(hourly, Date.parse("2026-03-26T00:00:00Z"), Date.parse("2026-04-01T00:00:00Z"), 2_000).slots, ...slotsInRange(hourly, Date.parse("2026-10-22T00:00:00Z"), Date.parse("2026-10-28T00:00:00Z"), 2_000).slots];
    expect(upstream).toHaveLength(6 * 24 - 1 + 6 * 24 + 1);
    for (const slot of upstream) {
      const consumers = slotsConsuming("day", slot, daily);
      expect(consumers).toHaveLength(1);
      const window = upstreamWindow("day", consumers[0]!, daily);
      expect(slot >= window.from && slot < window.to).toBe(true);
    }
  });

  it("reads days in the downstream's zone, not the upstream's", () => {
    const newYork: ScheduleSpec = { ...DEFAULT_SCHEDULE, cron: "0 6 * * *", timezone: "America/New_York" };
    const slot = slotOn(newYork, "2026-12-02");
    const window = upstreamWindow("day", slot, newYork);
    expect(new Date(window.from).toISOString()).toBe("2026-12-01T05:00:00.000Z");
    expect(new Date(window.to).toISOString()).toBe("2026-12-02T05:00:00.000Z");
  });
});

describe("interval mapping", () => {
  const every6h: ScheduleSpec = { ...DEFAULT_SCHEDULE, cron: null, intervalMs: 6 * HOUR };

  it("consumes the upstream slots since the previous slot, up to and including its own time", () => {
    const slot = Date.parse("2026-12-02T12:00:00Z");
    const window = upstreamWindow("interval", slot, every6h);
    expect(window).toEqual({ from: Date.parse("2026-12-02T06:00:00Z") + 1, to: slot + 1 });
  });

  it("is inverted by slotsConsuming: an upstream slot belongs to the first downstream slot at or after it", () => {
    expect(slotsConsuming("interval", Date.parse("2026-12-02T12:00:00Z"), every6h)).toEqual([Date.parse("2026-12-02T12:00:00Z")]);
    expect(slotsConsuming("interval", Date.parse("2026-12-02T12:15:00Z"), every6h)).toEqual([Date.parse("2026-12-02T18:00:00Z")]);
    for (let upstream = Date.parse("2026-12-02T00:00:00Z"); upstream < Date.parse("2026-12-03T00:00:00Z"); upstream += 15 * 60_000) {
      const [slot] = slotsConsuming("interval", upstream, every6h);
      const window = upstreamWindow("interval", slot!, every6h);
      expect(upstream >= window.from && upstream < window.to).toBe(true);
    }
  });
});

describe("days at the ends of the zones", () => {
  it("starts a day at its midnight in UTC+14 and UTC−11 too", () => {
    for (const timezone of ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu"]) {
      const midnight: ScheduleSpec = { ...DEFAULT_SCHEDULE, cron: "0 0 * * *", timezone };
      const slot = slotsInRange(midnight, Date.parse("2026-12-01T12:00:00Z"), Date.parse("2026-12-03T12:00:00Z"), 1).slots[0]!;
      const window = upstreamWindow("day", slot, midnight);
      expect(window.to).toBe(slot);
      expect(window.to - window.from).toBe(24 * HOUR);
    }
  });
});
