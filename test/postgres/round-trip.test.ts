/**
 * Awkward values written by the PostgreSQL destination and read back by the PostgreSQL source: what goes
 * in comes out, as the engine's column types mean it (a timestamp is its instant, in UTC).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createTableSql } from "../../src/destinations/postgres/ddl";
import { stagedRow } from "../../src/engine/staged-row";
import { postgresSource } from "../../src/sources/postgres";
import { PostgresSourceSchema, postgresSettings } from "../../src/sources/postgres/config";
import { control, destination, sql, writer } from "./support";

const COLUMNS = { id: "integer", label: "text", amount: "real", flag: "boolean", at: "timestamp", doc: { type: "text", nullable: true }, maybe: { type: "text", nullable: true } } as const;

const VALUES: [number, string, number, boolean, string, string | null, string | null][] = [
  [Number.MAX_SAFE_INTEGER, "it's \"quoted\" \\ back\\slash; --", 1.7976931348623157e308, true, "2026-11-28T09:15:00+01:00", '{"a":[1,"x"],"nested":{"k":"v"}}', null],
  [Number.MIN_SAFE_INTEGER, "Zürich 東京 😀 e\u0301 \u200b\t\n\r", 5e-324, false, "2026-03-29T01:30:00-08:00", "[]", ""],
  [0, "", -0.1, true, "1970-01-01T00:00:00Z", "null", "$1 $$ ? :name"],
  [42, "'; DROP TABLE x; --", 0.30000000000000004, false, "2026-11-30T23:59:59.999+05:45", '"just text"', "'"],
];

describe("values through PostgreSQL and back", () => {
  it("reads back what it wrote: quotes, unicode, the safe-integer extremes, doubles at their limits, instants from any zone, jsonb", async () => {
    const settings = destination(COLUMNS, { key: ["id"], jsonb: ["doc"] });
    await sql(createTableSql(settings));
    const rows = VALUES.map((values, index) => stagedRow(index, String(values[0]), values.map((value, column) => (column === 4 ? new Date(value as string).toISOString() : value))));
    expect((await writer(settings, "manual-trip").write(rows, control())).loaded).toBe(VALUES.length);
    const source = postgresSettings(PostgresSourceSchema.parse({ type: "postgres", hyperdrive: "HYPERDRIVE", query: `SELECT id, label, amount, flag, at, doc, maybe FROM ${settings.table}`, cursor: ["id"], pageRows: 2 }), { name: "primary", defaultTimeoutMs: 10_000 });
    const read: Record<string, unknown>[] = [];
    const context = { env: env as unknown as Record<string, unknown>, pipeline: "t", runId: "r", sample: undefined, runValues: {}, slot: { asOf: 0, scheduledFor: null, date: "" }, params: {}, watermark: null, requiredColumns: [], maxRecordBytes: 1e6, reread: false, share: null, signal: new AbortController().signal };
    for await (const page of postgresSource.read(source as never, context)) for (const item of page) read.push((item as { record: Record<string, unknown> }).record);
    const expected = [...VALUES]
      .sort((a, b) => a[0] - b[0])
      .map(([id, label, amount, flag, at, doc, maybe]) => ({ id, label, amount, flag, at: Date.parse(at), doc: doc === null ? null : JSON.parse(doc), maybe }));
    expect(read.map((record) => ({ ...record, at: Date.parse(record.at as string) }))).toEqual(expected);
    // Stored as the instant: PostgreSQL agrees on it in its own terms.
    const [stored] = await sql<{ epoch: string }>(`SELECT extract(epoch FROM at)::text AS epoch FROM ${settings.table} WHERE id = 42`);
    expect(Number(stored!.epoch) * 1000).toBeCloseTo(Date.parse("2026-11-30T23:59:59.999+05:45"), 0);
    // The jsonb column is jsonb, queryable as such.
    expect(await sql(`SELECT doc->'nested'->>'k' AS k FROM ${settings.table} WHERE id = $1`, [Number.MAX_SAFE_INTEGER])).toEqual([{ k: "v" }]);
  });
});
