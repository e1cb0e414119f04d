/** isoInstant is toISOString, faster: the same text for every instant, and the same errors. */
import { describe, expect, it } from "vitest";
import { isoInstant } from "../../src/domain/iso-instant";

describe("isoInstant", () => {
  it("writes what toISOString writes, at the edges of days, months, leap years and its range", () => {
    const edges = [0, 1, 999, 1_000, 86_399_999, 86_400_000, -1, -86_400_000, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_000, -62_167_219_200_001, 8.64e15, -8.64e15, 1_700_000_000_000];
    for (const ms of edges) expect([ms, isoInstant(ms)]).toEqual([ms, new Date(ms).toISOString()]);
  });

  it("writes what toISOString writes for random instants, over all four-digit years and beyond", () => {
    for (let index = 0; index < 20_000; index += 1) {
      const ms = Math.floor((Math.random() * 2 - 1) * 3e14);
      expect([ms, isoInstant(ms)]).toEqual([ms, new Date(ms).toISOString()]);
    }
  });

  it("leaves what is not an integer count of milliseconds to toISOString, errors and all", () => {
    expect(isoInstant(1.5)).toBe(new Date(1.5).toISOString());
    expect(() => isoInstant(Number.NaN)).toThrow(RangeError);
    expect(() => isoInstant(8.64e15 + 1)).toThrow(RangeError);
  });
});
