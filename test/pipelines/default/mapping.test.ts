/** The seed pipeline's field mapping (dot paths, CSV headers with dots) and its validation rules. */
import { describe, expect, it } from "vitest";
import { DEFAULT_RULES, readField } from "../../../src/pipelines/default/mapping";
import { DEFAULT_TRANSFORM, transformRecord } from "../../../src/pipelines/default/readings";

describe("readField", () => {
  it("prefers a key with dots, then follows the path", () => {
    expect(readField({ "sensor.type": "flat", sensor: { type: "nested" } }, "sensor.type")).toEqual({ ok: true, value: "flat" });
    expect(readField({ sensor: { type: "nested" } }, "sensor.type")).toEqual({ ok: true, value: "nested" });
    expect(readField({}, "a.b.c")).toEqual({ ok: true, value: undefined });
    expect(readField({ a: 5 }, "a.b")).toEqual({ ok: false, reason: "a must be an object, got number" });
  });
});

describe("transformRecord with a mapping and rules", () => {
  const options = {
    ...DEFAULT_TRANSFORM,
    fields: { id: "sensor_id", value: "reading", timestamp: "time", type: "kind" },
    thresholds: { medium: 10, high: 20 },
    rules: { ...DEFAULT_RULES, value: { min: 0, max: 100 }, allowedTypes: ["temp", "humidity"], requiredFields: ["site"] },
  };
  const good = { sensor_id: "s1", reading: "15", time: "1700000000000", kind: "temp", site: "north" };

  it("reads the mapped fields (CSV epoch text included) and applies its thresholds", () => {
    expect(transformRecord(good, options)).toEqual({
      ok: true,
      record: { id: "s1", timestamp: "2023-11-14T22:13:20.000Z", value: 15, category: "medium", type: "temp" },
    });
  });

  it.each([
    [{ reading: "1" }, null, "sensor_id is missing"],
    [{ reading: "-1" }, "s1", "reading -1 is below the minimum 0"],
    [{ reading: "100.5" }, "s1", "reading 100.5 is above the maximum 100"],
    [{ reading: "abc" }, "s1", 'reading "abc" is not a number'],
    [{ kind: "pressure" }, "s1", 'kind "pressure" is not one of the allowed types (temp, humidity)'],
    [{ kind: undefined }, "s1", "kind missing is not one of the allowed types (temp, humidity)"],
    [{ site: "" }, "s1", "required field site is missing or empty"],
  ])("refuses %j", (change, id, reason) => {
    const raw: Record<string, unknown> = { ...good, ...change };
    if (!("sensor_id" in change) && id === null) delete raw.sensor_id;
    expect(transformRecord(raw, options)).toEqual({ ok: false, id, reason });
  });

  it("can refuse numeric strings when only numbers are allowed", () => {
    const numbersOnly = { ...DEFAULT_TRANSFORM, rules: { ...DEFAULT_RULES, valueTypes: ["number" as const] } };
    expect(transformRecord({ id: "a", value: "5", timestamp: 0 }, numbersOnly)).toEqual({ ok: false, id: "a", reason: "value must be a number, got string" });
    expect(transformRecord({ id: "a", value: 5, timestamp: 0 }, numbersOnly).ok).toBe(true);
  });
});
