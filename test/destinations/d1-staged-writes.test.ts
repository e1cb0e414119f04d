/**
 * A run's rows held aside beside a D1 destination (what a load following transform writes into): a
 * table made from the destination's own CREATE TABLE, so its constraints hold at write time; duplicates
 * found there as in the destination; nothing visible in the destination until publish, which is an
 * upsert a crash part way can repeat; the table gone after publish or discard.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { d1StagedWrites, publishSql, stagedTableName, stagedTableSql } from "../../src/destinations/d1/staged-writes";
import type { D1Destination } from "../../src/destinations/d1/settings";
import { resolveSettings } from "../../src/engine/settings";
import { stagedRow } from "../../src/engine/staged-row";
import readings from "../../src/pipelines/default/pipeline";
import { listMetrics } from "../support/db";
import { uniqueName } from "../support/runtime";

const resolved = resolveSettings(readings, env as unknown as Record<string, unknown>);
if (!resolved.ok) throw new Error(resolved.errors.join("; "));
const metrics = resolved.settings.destination as D1Destination;

const reading = (pipeline: string, id: string, value: number, position: number) => stagedRow(position, id, [pipeline, id, "2024-01-01T00:00:00.000Z", value, "low", "sensor"]);
const control = { statementsPerBatch: 100 };

async function tableExists(name: string): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").bind(name).first()) !== null;
}

describe("stagedTableSql", () => {
  it("renames the destination's CREATE TABLE, keeps its columns, constraints and STRICT, and leaves WITHOUT ROWID off", () => {
    const sql = 'CREATE TABLE IF NOT EXISTS "my ""t""" (a TEXT PRIMARY KEY, b REAL CHECK (b < 10)) STRICT, WITHOUT ROWID';
    expect(stagedTableSql(sql, metrics, "_staged_x")).toBe('CREATE TABLE "_staged_x" (a TEXT PRIMARY KEY, b REAL CHECK (b < 10)) STRICT');
    expect(stagedTableSql("create table t (a TEXT) WITHOUT ROWID", metrics, "_staged_y")).toBe('CREATE TABLE "_staged_y" (a TEXT)');
  });

  it("names a table of the run's own, whatever its run id holds, apart from another pipeline's run of the same id", () => {
    expect(stagedTableName("metrics", "my-readings", "manual-1712.5:x")).toBe("_staged_metrics_my_readings_manual_1712_5_x");
    expect(stagedTableName("metrics", "other", "manual-1712.5:x")).not.toBe(stagedTableName("metrics", "my-readings", "manual-1712.5:x"));
  });
});

describe("d1StagedWrites", () => {
  it("holds the rows aside until publish, refusing duplicates as the destination would, then drops its table", async () => {
    const pipeline = uniqueName("aside");
    const runId = `manual-${uniqueName("r")}`;
    // A row of another run already in the destination: publishing upserts over it.
    await env.DB.prepare("INSERT INTO metrics (pipeline, id, timestamp, value, category, type, run_id, loaded_at, position) VALUES (?, 'a1', '2020-01-01T00:00:00.000Z', 1, 'low', 'old', 'older-run', 1, 0)").bind(pipeline).run();
    const staged = d1StagedWrites(env.DB, { ...metrics, duplicates: "reject" }, pipeline, runId, 42);
    await staged.open();
    const first = await staged.writer.write([reading(pipeline, "a1", 5, 0), reading(pipeline, "a2", 6, 1)], control);
    const second = await staged.writer.write([reading(pipeline, "a2", 7, 2), reading(pipeline, "a3", 8, 3)], control);
    expect([first.loaded, second.loaded]).toEqual([2, 1]);
    expect(second.duplicates.map(({ row, first }) => [row[1], first])).toEqual([["a2", 1]]);
    expect((await listMetrics(env.DB, pipeline)).map((row) => [row.id, row.run_id])).toEqual([["a1", "older-run"]]);

    const reported: number[] = [];
    await staged.publish({ ...control, written: (rows) => void reported.push(rows) });
    expect(reported).toEqual([3]);
    expect((await listMetrics(env.DB, pipeline)).map((row) => [row.id, row.value, row.type, row.run_id])).toEqual([
      ["a1", 5, "sensor", runId],
      ["a2", 6, "sensor", runId],
      ["a3", 8, "sensor", runId],
    ]);
    expect(await tableExists(stagedTableName("metrics", pipeline, runId))).toBe(false);
  });

  it("publishes again after a crash part way: the same rows, once each", async () => {
    const pipeline = uniqueName("again");
    const runId = `manual-${uniqueName("r")}`;
    const staged = d1StagedWrites(env.DB, metrics, pipeline, runId, 42);
    await staged.open();
    await staged.writer.write(Array.from({ length: 250 }, (_, index) => reading(pipeline, `r${index}`, index, index)), control);
    // The first rows went in before the crash; the publish after it starts from the beginning.
    await env.DB.prepare(publishSql(metrics, stagedTableName("metrics", pipeline, runId), { from: false, to: true })).bind("100").run();
    expect(await listMetrics(env.DB, pipeline)).toHaveLength(100);
    await staged.publish(control);
    const rows = await listMetrics(env.DB, pipeline);
    expect(rows).toHaveLength(250);
    expect(new Set(rows.map((row) => row.id)).size).toBe(250);
  });

  it("keeps the destination's constraints at write time, and discards its rows without a trace", async () => {
    const table = `checked_${uniqueName("t").replace(/-/g, "_")}`;
    await env.DB.prepare(`CREATE TABLE ${table} (id TEXT PRIMARY KEY, weight REAL NOT NULL CHECK (weight < 1000), run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER) WITHOUT ROWID`).run();
    const destination: D1Destination = { ...metrics, table, key: ["id"], columns: [{ name: "id", type: "text", nullable: false }, { name: "weight", type: "real", nullable: false }] };
    const runId = `manual-${uniqueName("r")}`;
    const staged = d1StagedWrites(env.DB, destination, "checked", runId, 42);
    await staged.open();
    await expect(staged.writer.write([stagedRow(0, "x", ["x", 5_000])], control)).rejects.toThrow(/CHECK constraint failed/);
    await staged.writer.write([stagedRow(1, "y", ["y", 5])], control);
    await staged.discard();
    expect(await tableExists(stagedTableName(table, "checked", runId))).toBe(false);
    expect((await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n).toBe(0);
    await staged.discard(); // nothing there is fine
  });
  it("publishes every row when the row id is the key: negative, zero and far apart, in ranges found by counting", async () => {
    const table = `counted_${uniqueName("t").replace(/-/g, "_")}`;
    await env.DB.prepare(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, weight REAL NOT NULL, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER)`).run();
    const destination: D1Destination = { ...metrics, table, key: ["id"], columns: [{ name: "id", type: "integer", nullable: false }, { name: "weight", type: "real", nullable: false }] };
    const runId = `manual-${uniqueName("r")}`;
    const keys = [-9_000_000_000_000, -5, 0, 7, 120_000, 1_000_000_000_000_000];
    // Two rows a range: three ranges, the last one full, then an empty one that ends the publish.
    const staged = d1StagedWrites(env.DB, destination, "counted", runId, 42, 2);
    await staged.open();
    await staged.writer.write(keys.map((key, index) => stagedRow(index, String(key), [key, index])), control);
    const reported: number[] = [];
    await staged.publish({ ...control, written: (rows) => void reported.push(rows) });
    const rows = await env.DB.prepare(`SELECT id, weight FROM ${table} ORDER BY id`).all<{ id: number; weight: number }>();
    expect(rows.results.map((row) => row.id)).toEqual(keys);
    expect(reported.reduce((sum, rows) => sum + rows, 0)).toBe(keys.length);
    expect(await tableExists(stagedTableName(table, "counted", runId))).toBe(false);
  });
});
