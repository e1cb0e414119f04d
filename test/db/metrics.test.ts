/** The D1 queries on their own: upserts keyed by record id, packing past the 100-parameter limit. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listMetrics, listRejections, loadMetricsOnce, saveRejections, upsertMetrics } from "../../src/db/metrics";
import type { CleanRecord, Rejection } from "../../src/domain/records";
import { uniqueName } from "../support/runtime";

const record = (id: string, value: number): CleanRecord => ({
  id,
  timestamp: "2024-01-01T00:00:00.000Z",
  value,
  category: value < 100 ? "low" : value < 200 ? "medium" : "high",
  type: "sensor",
  cleaned: true,
});

describe("upsertMetrics", () => {
  it("writes many rows in statements of at most 100 parameters", async () => {
    const pipeline = uniqueName("pipeline");
    const records = Array.from({ length: 1_001 }, (_, index) => record(`r-${String(index).padStart(4, "0")}`, index));
    expect(await upsertMetrics(env.DB, pipeline, "run-1", records, 1)).toBe(1_001);
    const rows = await listMetrics(env.DB, pipeline);
    expect(rows).toHaveLength(1_001);
    expect(rows[1_000]).toMatchObject({ id: "r-1000", value: 1000, category: "high", run_id: "run-1" });
  });

  it("updates a record loaded again instead of duplicating it, and keeps pipelines apart", async () => {
    const pipeline = uniqueName("pipeline");
    const other = uniqueName("pipeline");
    await upsertMetrics(env.DB, pipeline, "run-1", [record("a", 1), record("b", 2)], 1);
    await upsertMetrics(env.DB, other, "run-1", [record("a", 5)], 1);
    await upsertMetrics(env.DB, pipeline, "run-2", [record("a", 150)], 2);
    expect((await listMetrics(env.DB, pipeline)).map((row) => [row.id, row.value, row.category, row.run_id])).toEqual([
      ["a", 150, "medium", "run-2"],
      ["b", 2, "low", "run-1"],
    ]);
    expect((await listMetrics(env.DB, other)).map((row) => [row.id, row.value])).toEqual([["a", 5]]);
  });
});

describe("saveRejections", () => {
  it("is keyed by run and position, so saving a run's rejections twice keeps one row each", async () => {
    const pipeline = uniqueName("pipeline");
    const rejections: Rejection[] = [
      { position: 1, id: "rec-2", stage: "transform", reason: "bad", raw: '{"id":"rec-2"}' },
      { position: 4, id: null, stage: "transform", reason: "record must be an object, got null", raw: "null" },
    ];
    await saveRejections(env.DB, pipeline, "run-1", rejections, 1);
    await saveRejections(env.DB, pipeline, "run-1", rejections, 2);
    expect(await listRejections(env.DB, pipeline, "run-1")).toEqual([
      { run_id: "run-1", position: 1, record_id: "rec-2", stage: "transform", reason: "bad", raw: '{"id":"rec-2"}' },
      { run_id: "run-1", position: 4, record_id: null, stage: "transform", reason: "record must be an object, got null", raw: "null" },
    ]);
  });
});

describe("loadMetricsOnce", () => {
  const staged = (id: string, position: number, value = 1) => ({ ...record(id, value), position });

  it("loads the first occurrence of an id in a run and names it for the later ones", async () => {
    const pipeline = uniqueName("pipeline");
    const first = await loadMetricsOnce(env.DB, pipeline, "run-1", [staged("a", 0, 10), staged("b", 1), staged("a", 2, 99)], 1);
    expect(first.loaded.map((r) => r.position)).toEqual([0, 1]);
    expect(first.duplicates.map((d) => [d.record.position, d.first])).toEqual([[2, 0]]);
    const later = await loadMetricsOnce(env.DB, pipeline, "run-1", [staged("b", 7)], 1);
    expect(later.duplicates.map((d) => [d.record.position, d.first])).toEqual([[7, 1]]);
    expect((await listMetrics(env.DB, pipeline)).map((row) => [row.id, row.value])).toEqual([
      ["a", 10],
      ["b", 1],
    ]);
  });

  it("rewrites the same records when a load is retried, and overwrites rows of earlier runs", async () => {
    const pipeline = uniqueName("pipeline");
    const records = Array.from({ length: 30 }, (_, index) => staged(`r${index}`, index));
    await loadMetricsOnce(env.DB, pipeline, "run-1", records, 1);
    const retried = await loadMetricsOnce(env.DB, pipeline, "run-1", records, 2);
    expect([retried.loaded.length, retried.duplicates.length]).toEqual([30, 0]);
    const nextRun = await loadMetricsOnce(env.DB, pipeline, "run-2", [staged("r3", 0, 150)], 3);
    expect(nextRun.loaded).toHaveLength(1);
    expect((await listMetrics(env.DB, pipeline)).find((row) => row.id === "r3")).toMatchObject({ value: 150, run_id: "run-2" });
  });
});
