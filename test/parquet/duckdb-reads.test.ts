/**
 * What the Parquet destination writes, read by DuckDB (a reader we did not write): every column type,
 * nulls, the edges of each type, Hive partition folders with escaped values, and the round trip through
 * hyparquet that a partition's rewrite relies on.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { partitionFolder } from "../../src/destinations/r2-parquet/hive";
import { decodeParquet, encodeParquet } from "../../src/destinations/r2-parquet/parquet-file";
import type { ColumnSettings } from "../../src/engine/columns";

const dir = mkdtempSync(join(tmpdir(), "parquet-duckdb-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const COLUMNS: ColumnSettings[] = [
  { name: "id", type: "text", nullable: false },
  { name: "n", type: "integer", nullable: false },
  { name: "x", type: "real", nullable: true },
  { name: "ok", type: "boolean", nullable: true },
  { name: "at", type: "timestamp", nullable: false },
  { name: "note", type: "text", nullable: true },
];

const ROWS: unknown[][] = [
  ["a", 0, 0.5, true, "2026-11-28T09:15:00.000Z", "plain", "run-1", 1_764_000_000_000, 0],
  ["b", Number.MAX_SAFE_INTEGER, -1e-300, false, "1970-01-01T00:00:00.000Z", null, "run-1", 1_764_000_000_000, 1],
  ["c", -Number.MAX_SAFE_INTEGER, null, null, "2099-12-31T23:59:59.999Z", "quote ' \" \\ ; DROP", "run-2", 1_764_000_000_001, null],
  ["d", 42, 1.7976931348623157e308, true, "2026-03-29T01:30:00.000Z", "ünïcödé 😀 \u0000 nul", "run-2", 1_764_000_000_002, 3],
];

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const reader = await connection.runAndReadAll(sql);
  const rows = reader.getRowObjectsJS() as Record<string, unknown>[];
  connection.closeSync();
  return rows;
}

describe("Parquet files DuckDB reads", () => {
  it("reads every value as written, in the types a reader expects", async () => {
    const file = join(dir, "types.parquet");
    writeFileSync(file, new Uint8Array(encodeParquet(COLUMNS, ROWS)));
    const types = await query(`SELECT column_name, column_type, "null" FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`);
    expect(types.map((row) => [row.column_name, row.column_type])).toEqual([
      ["id", "VARCHAR"],
      ["n", "BIGINT"],
      ["x", "DOUBLE"],
      ["ok", "BOOLEAN"],
      ["at", "TIMESTAMP WITH TIME ZONE"],
      ["note", "VARCHAR"],
      ["run_id", "VARCHAR"],
      ["loaded_at", "TIMESTAMP WITH TIME ZONE"],
      ["position", "BIGINT"],
    ]);
    const rows = await query(`SELECT id, n, x, ok, epoch_ms("at") AS at_ms, note, run_id, epoch_ms(loaded_at) AS loaded_ms, position FROM read_parquet('${file}') ORDER BY id`);
    expect(rows).toEqual(
      ROWS.map((row) => ({
        id: row[0],
        n: BigInt(row[1] as number),
        x: row[2],
        ok: row[3],
        at_ms: BigInt(Date.parse(row[4] as string)),
        note: row[5],
        run_id: row[6],
        loaded_ms: BigInt(row[7] as number),
        position: row[8] === null ? null : BigInt(row[8] as number),
      })),
    );
  });

  it("reads the rows back the same through hyparquet, as a partition's rewrite does", async () => {
    // Times come back as ISO text in UTC, as the engine holds them; a rewrite encodes them the same again.
    const decoded = await decodeParquet(COLUMNS, encodeParquet(COLUMNS, ROWS));
    expect(decoded).toEqual(ROWS.map((row) => row.map((value, index) => (index === 7 ? new Date(value as number).toISOString() : value))));
    expect(await decodeParquet(COLUMNS, encodeParquet(COLUMNS, decoded))).toEqual(decoded);
  });

  it("reads Hive partition folders, escaped values included, as their column", async () => {
    // Found by review: the text that spells Hive's null has a folder of its own.
    const values = ["2026-11-28", "a/b=c", "100%", "space here", null, "__HIVE_DEFAULT_PARTITION__"];
    for (const [index, value] of values.entries()) {
      const folder = join(dir, "dataset", partitionFolder("day", value));
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, "part.parquet"), new Uint8Array(encodeParquet(COLUMNS.slice(0, 2), [[`row${index}`, index, "run", 0, index]])));
    }
    const rows = await query(`SELECT id, day FROM read_parquet('${join(dir, "dataset")}/*/*.parquet', hive_partitioning = true, hive_types = {'day': VARCHAR}) ORDER BY id`);
    expect(rows).toEqual(values.map((value, index) => ({ id: `row${index}`, day: value })));
  });
});
