/**
 * The default (seed) pipeline through the test kit, on its four sample readings: rec-2 refused for its
 * value, the other three categorised and keyed by (pipeline, id); its config changing the thresholds and
 * the duplicate rule. The helpers it is made of have their own tests beside this one.
 */
import { describe, expect, it } from "vitest";
import { runPipeline } from "../../../src/engine/testing";
import readings from "../../../src/pipelines/default/pipeline";

describe("the default pipeline on its sample", () => {
  it("loads three of the four readings and refuses rec-2 for its value", async () => {
    const result = await runPipeline(readings);
    expect(result.status).toBe("succeeded");
    expect(result.accounting).toEqual({ extracted: 4, loaded: 3, rejected: 1, skipped: 0, balanced: true });
    expect(result.rows).toEqual([
      { pipeline: "default", id: "rec-1", timestamp: "2024-01-01T00:00:00.000Z", value: 100.5, category: "medium", type: "sensor-a" },
      { pipeline: "default", id: "rec-3", timestamp: "2024-01-01T00:02:00.000Z", value: 250.75, category: "high", type: "sensor-a" },
      { pipeline: "default", id: "rec-4", timestamp: "2024-01-01T00:03:00.000Z", value: 99, category: "low", type: "sensor-c" },
    ]);
    expect(result.rejected).toEqual([
      { position: 1, id: "rec-2", stage: "transform", reason: 'value "invalid" is not a number', raw: JSON.stringify({ id: "rec-2", value: "invalid", timestamp: "2024-01-01T00:01:00.000Z", metadata: { type: "sensor-b" } }) },
    ]);
    expect(result.checks).toBeNull();
  });

  it("categorises by the thresholds PIPELINE_CONFIG sets", async () => {
    const result = await runPipeline(readings, { config: { thresholds: { medium: 50, high: 100 } } });
    expect(result.rows.map((row) => [row.id, row.category])).toEqual([
      ["rec-1", "high"],
      ["rec-3", "high"],
      ["rec-4", "medium"],
    ]);
  });

  it("rejects a repeated id by default, and keeps the last with rejectDuplicates off", async () => {
    const records = [
      { id: "a", value: 1, timestamp: "2024-01-01T00:00:00Z" },
      { id: "a", value: 2, timestamp: "2024-01-01T00:01:00Z" },
    ];
    const strict = await runPipeline(readings, { records });
    expect(strict.rejected).toEqual([expect.objectContaining({ position: 1, stage: "load", reason: 'duplicate id "a" (first seen at position 0)' })]);
    const lenient = await runPipeline(readings, { records, config: { validation: { rejectDuplicates: false } } });
    expect(lenient.rows).toEqual([expect.objectContaining({ id: "a", value: 2 })]);
    expect(lenient.accounting).toMatchObject({ loaded: 2, rejected: 0, balanced: true });
  });
});
