/** Moments on a pipeline's wall clock, and a person's dates as that pipeline's days, across DST changes. */
import { describe, expect, it } from "vitest";
import { addDays, localDate, localDayStart, localIso, offsetMinutes } from "../../src/domain/local-time";

describe("localIso", () => {
  it("shows a moment on the zone's wall clock with its offset, in winter and in summer", () => {
    expect(localIso(Date.parse("2026-11-28T08:00:00Z"), "America/New_York")).toBe("2026-11-28T03:00:00-05:00");
    expect(localIso(Date.parse("2026-07-01T07:00:00Z"), "America/New_York")).toBe("2026-07-01T03:00:00-04:00");
    expect(localIso(Date.parse("2026-11-28T02:00:00Z"), "Europe/Berlin")).toBe("2026-11-28T03:00:00+01:00");
    expect(localIso(Date.parse("2026-11-28T21:30:00Z"), "Asia/Kolkata")).toBe("2026-11-29T03:00:00+05:30");
    expect(localIso(Date.parse("2026-11-28T03:00:00.250Z"), "UTC")).toBe("2026-11-28T03:00:00Z");
  });

  it("knows both sides of a fall-back hour apart by their offset", () => {
    expect(localIso(Date.parse("2026-11-01T05:30:00Z"), "America/New_York")).toBe("2026-11-01T01:30:00-04:00");
    expect(localIso(Date.parse("2026-11-01T06:30:00Z"), "America/New_York")).toBe("2026-11-01T01:30:00-05:00");
    expect(offsetMinutes(Date.parse("2026-03-08T07:00:00Z"), "America/New_York")).toBe(-240);
  });
});

describe("localDayStart", () => {
  it("is the pipeline's midnight, not UTC's", () => {
    expect(new Date(localDayStart("2026-11-01", "America/New_York")).toISOString()).toBe("2026-11-01T04:00:00.000Z");
    expect(new Date(localDayStart("2026-11-02", "America/New_York")).toISOString()).toBe("2026-11-02T05:00:00.000Z");
    expect(new Date(localDayStart("2026-11-01", "Europe/Berlin")).toISOString()).toBe("2026-10-31T23:00:00.000Z");
    expect(localDayStart("2026-11-01", "UTC")).toBe(Date.parse("2026-11-01T00:00:00Z"));
    expect(localDate(localDayStart("2026-11-01", "Pacific/Kiritimati"), "Pacific/Kiritimati")).toBe("2026-11-01");
  });

  it("is the first instant after a gap where a zone skips midnight", () => {
    // Asia/Beirut moved its clocks at midnight (2026-03-29 00:00 → 01:00).
    const start = localDayStart("2026-03-29", "Asia/Beirut");
    expect(localIso(start, "Asia/Beirut")).toBe("2026-03-29T01:00:00+03:00");
    expect(localDate(start - 1_000, "Asia/Beirut")).toBe("2026-03-28");
  });
});

describe("addDays", () => {
  it("moves along the calendar across month, year and leap days", () => {
    expect(addDays("2026-11-30", 1)).toBe("2026-12-01");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2028-03-01", -1)).toBe("2028-02-29");
    expect(addDays("2026-11-02", -29)).toBe("2026-10-04");
    expect(addDays("2026-11-02", 0)).toBe("2026-11-02");
  });
});
