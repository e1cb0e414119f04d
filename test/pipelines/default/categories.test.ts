/** Pins down the seed's category boundaries: < 100 low, < 200 medium, otherwise high. */
import { describe, expect, it } from "vitest";
import { categorize } from "../../../src/pipelines/default/categories";

describe("categorize", () => {
  it.each([
    [-5, "low"],
    [0, "low"],
    [99, "low"],
    [99.99, "low"],
    [100, "medium"],
    [100.5, "medium"],
    [199.99, "medium"],
    [200, "high"],
    [250.75, "high"],
    [1e9, "high"],
  ] as const)("puts %d in %s", (value, category) => {
    expect(categorize(value)).toBe(category);
  });

  it("uses other thresholds when given", () => {
    expect(categorize(15, { medium: 10, high: 20 })).toBe("medium");
  });
});
