/** Pins down which metric values count as numbers: the whole input must be a finite decimal. */
import { describe, expect, it } from "vitest";
import { parseMetricValue } from "../../../src/pipelines/default/numbers";

describe("parseMetricValue", () => {
  it.each([
    ["100.5", 100.5],
    ["99.0", 99],
    ["250.75", 250.75],
    ["0", 0],
    ["-12", -12],
    ["+7", 7],
    [".5", 0.5],
    ["5.", 5],
    ["1e3", 1000],
    ["1.5E-2", 0.015],
    [42, 42],
    [-3.25, -3.25],
  ])("accepts %j as %d", (input, expected) => {
    expect(parseMetricValue(input)).toEqual({ ok: true, value: expected });
  });

  it("reads -0 as 0, so it stores and compares like 0", () => {
    const parsed = parseMetricValue("-0");
    expect(parsed.ok && Object.is(parsed.value, 0)).toBe(true);
    const numeric = parseMetricValue(-0);
    expect(numeric.ok && Object.is(numeric.value, 0)).toBe(true);
  });

  it.each([
    ["invalid", 'value "invalid" is not a number'],
    ["", "value is an empty string"],
    ["12abc", 'value "12abc" is not a number'],
    ["NaN", 'value "NaN" is not a number'],
    ["Infinity", 'value "Infinity" is not a number'],
    ["-Infinity", 'value "-Infinity" is not a number'],
    ["0x10", 'value "0x10" is not a number'],
    ["1,000", 'value "1,000" is not a number'],
    ["  12 ", 'value "  12 " has leading or trailing whitespace'],
    ["1e400", 'value "1e400" is out of range'],
    [null, "value is missing"],
    [undefined, "value is missing"],
    [true, "value must be a number or a numeric string, got boolean"],
    [{ v: 1 }, "value must be a number or a numeric string, got object"],
    [[1], "value must be a number or a numeric string, got array"],
  ])("refuses %j: %s", (input, reason) => {
    expect(parseMetricValue(input)).toEqual({ ok: false, reason });
  });

  it("cuts a huge value short in the reason", () => {
    const result = parseMetricValue("x".repeat(10_000));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason.length).toBeLessThan(100);
  });
});
