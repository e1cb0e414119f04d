/** A chart's time axis: ticks at a round step that suits the range, on the pipeline's clock. */
import { describe, expect, it } from "vitest";
import { timeTicks } from "../../src/dashboard/time-ticks";

const at = (iso: string) => Date.parse(iso);

describe("timeTicks", () => {
  it("reads a month in weeks, on local midnights, never in fractions of a second", () => {
    const ticks = timeTicks(at("2026-10-30T12:00:00Z"), at("2026-11-28T12:00:00Z"), "America/New_York", 6);
    expect(ticks.map((tick) => tick.label)).toEqual(["Nov 6", "Nov 13", "Nov 20", "Nov 27"]);
    expect(new Date(ticks[0]!.at).toISOString()).toBe("2026-11-06T05:00:00.000Z");
    expect(timeTicks(at("2026-10-20T12:00:00Z"), at("2026-10-28T12:00:00Z"), "America/New_York", 6)[0]!.at).toBe(at("2026-10-22T04:00:00Z"));
    expect(new Date(ticks[3]!.at).toISOString()).toBe("2026-11-27T05:00:00.000Z");
  });

  it("reads an hour in minutes and a day in hours, with the date at midnight", () => {
    expect(timeTicks(at("2026-11-28T10:00:00Z"), at("2026-11-28T11:00:00Z"), "UTC", 6).map((tick) => tick.label)).toEqual(["10:00", "10:15", "10:30", "10:45", "11:00"]);
    expect(timeTicks(at("2026-11-28T00:00:00Z"), at("2026-11-29T00:00:00Z"), "Europe/Berlin", 5).map((tick) => tick.label)).toEqual(["06:00", "12:00", "18:00", "Nov 29"]);
  });

  it("keeps within the room it is given, whatever the range", () => {
    for (const span of [1_000, 90_000, 3_600_000, 86_400_000, 30 * 86_400_000, 365 * 86_400_000]) {
      for (const room of [2, 4, 8]) {
        const ticks = timeTicks(at("2026-11-01T00:00:00Z"), at("2026-11-01T00:00:00Z") + span, "America/New_York", room);
        expect(ticks.length).toBeLessThanOrEqual(span > 28 * 2 * 86_400_000 ? 14 : room + 1);
        expect(ticks.every((tick, index) => index === 0 || tick.at > ticks[index - 1]!.at)).toBe(true);
        expect(ticks.every((tick) => !/\.\d/.test(tick.label))).toBe(true);
      }
    }
  });
});
