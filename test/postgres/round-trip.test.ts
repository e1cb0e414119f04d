/**
 * Awkward values written by the PostgreSQL destination and read back by the PostgreSQL source: what goes
 * in comes out, as the engine's column types mean it (a timestamp is its instant, in UTC).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { postgresDestination } from "../../src/destinations/postgres";
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

/** Text an array literal must escape or could misread: its quote, escape, braces, comma, NULL, whitespace. */
const AWKWARD_TEXT = [
  "", " ", "  spaces around  ", "NULL", "null", "{}", "{a,b}", '{"a","b"}', "a,b", "(1,2)", '"', "\\", '\\"', '"\\', "\\\\N", "}{", "\\x00ff",
  "tab\there", "line\nbreak\r\n", "Zürich 東京 😀 e\u0301 \u200b \u2028", "'; DROP TABLE x; --", "$1 $$ ? :name", "\u0001\u007f",
];
/** JSON an array literal carries as text: the same characters inside strings, nesting, JSON's null, numbers beyond a double. */
const AWKWARD_JSON = [
  null, "null", '"{a,b}"', '{"k":"a\\"b\\\\c{,}","NULL":null}', '[1,[2,{"x":null}],"\\u00fc\\n"]', '{"big":12345678901234567890123,"tiny":1e-400,"one":1.0}', '"😀 \\ud83d\\ude00"', "[]", "{}", ' { "spaced" : [ true , false ] } ',
];
const REALS = [null, 0.30000000000000004, 5e-324, -1.7976931348623157e308, 1e21, -123.456, 2 ** 53 + 2];
const INTEGERS = [null, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0, -1];
const FLAGS = [null, true, false];
const INSTANTS = [null, "0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z", "2026-03-29T01:30:00.001Z", "2000-02-29T12:00:00.000Z"];

describe("values sent as one array a column", () => {
  const COLUMNS_ALL_NULLABLE = {
    id: "integer", label: "text", note: { type: "text", nullable: true }, amount: { type: "real", nullable: true }, n: { type: "integer", nullable: true },
    flag: { type: "boolean", nullable: true }, at: { type: "timestamp", nullable: true }, doc: { type: "text", nullable: true },
  } as const;
  // Every list cycles at its own length, so nulls fall in the middle of each array as well as at its ends.
  const rows = AWKWARD_TEXT.map((label, index) => stagedRow(index, String(index), [
    index, label, index % 3 === 0 ? null : AWKWARD_TEXT[(index + 5) % AWKWARD_TEXT.length]!, REALS[index % REALS.length]!, INTEGERS[index % INTEGERS.length]!,
    FLAGS[index % FLAGS.length]!, INSTANTS[index % INSTANTS.length]!, AWKWARD_JSON[index % AWKWARD_JSON.length]!,
  ]));

  it("come back exactly: text an array literal escapes, jsonb, nulls anywhere in an array, instants at the ends of the calendar, integers and doubles at their limits", async () => {
    const settings = destination(COLUMNS_ALL_NULLABLE, { key: ["id"], jsonb: ["doc"] });
    await sql(createTableSql(settings));
    expect((await writer(settings, "manual-arrays").write(rows, control())).loaded).toBe(rows.length);
    const read = await sql<Record<string, unknown>>(
      `SELECT id, label, note, amount, n, flag, floor(extract(epoch FROM at) * 1000)::bigint AS at_ms, doc::text AS doc FROM ${settings.table} ORDER BY id`,
    );
    expect(read.map((stored) => ({ ...stored, doc: stored.doc === null ? null : JSON.parse(stored.doc as string) }))).toEqual(
      rows.map(([, , id, label, note, amount, n, flag, at, doc]) => ({ id, label, note, amount, n, flag, at_ms: at === null ? null : Date.parse(at as string), doc: doc === null ? null : JSON.parse(doc as string) })),
    );
    // PostgreSQL holds each JSON text as that text given alone as a jsonb parameter would be, digits beyond a double's included.
    for (const [, , id, , , , , , , doc] of rows) {
      const [same] = await sql<{ same: boolean }>(`SELECT doc IS NOT DISTINCT FROM $2::jsonb AS same FROM ${settings.table} WHERE id = $1`, [id, doc]);
      expect(same, `doc of row ${id}`).toEqual({ same: true });
    }
    expect(await sql(`SELECT doc->>'big' AS big FROM ${settings.table} WHERE doc ? 'big'`)).toEqual(Array(rows.filter((entry) => String(entry[9]).includes("big")).length).fill({ big: "12345678901234567890123" }));
  });

  it("keep every digit and every character in a table that stores a real as numeric and a jsonb column as json (which the shape check accepts)", async () => {
    const settings = destination(COLUMNS_ALL_NULLABLE, { key: ["id"], jsonb: ["doc"] });
    await sql(`CREATE TABLE ${settings.table} (id bigint PRIMARY KEY, label varchar NOT NULL, note text, amount numeric, n numeric, flag boolean, at timestamptz, doc json, run_id text NOT NULL, loaded_at bigint NOT NULL, position bigint)`);
    expect(await postgresDestination.verifyShape!(settings as never, { env: env as unknown as Record<string, unknown>, pipeline: "p" })).toBeNull();
    expect((await writer(settings, "manual-numeric").write(rows, control())).loaded).toBe(rows.length);
    const read = await sql<{ id: number; amount: string | null; n: string | null; doc: string | null; label: string }>(`SELECT id, amount::text AS amount, n::text AS n, doc::text AS doc, label FROM ${settings.table} ORDER BY id`);
    expect(read.map(({ amount, ...stored }) => stored)).toEqual(rows.map(([, , id, label, , , n, , , doc]) => ({ id, label, n: n === null ? null : String(n), doc })));
    // numeric keeps the double's every digit (a double precision array cast to numeric would give 0.3), and reads back as the same double.
    expect(read.find((stored) => rows[stored.id]![5] === 0.30000000000000004)!.amount).toBe("0.30000000000000004");
    expect(read.map((stored) => (stored.amount === null ? null : Number(stored.amount)))).toEqual(rows.map((entry) => entry[5]));
  });

  it("name duplicates by keys of every kind the lookup sends as arrays: awkward text, an instant, a double", async () => {
    const settings = destination({ label: "text", at: "timestamp", amount: "real", n: "integer" }, { key: ["label", "at", "amount"] });
    await sql(createTableSql(settings));
    const keyed = AWKWARD_TEXT.map((label, index) => stagedRow(index, `r${index}`, [label, INSTANTS[1 + (index % 5)]!, REALS[1 + (index % 6)]!, index]));
    expect((await writer(settings, "manual-keys").write(keyed, control())).loaded).toBe(keyed.length);
    const repeated = keyed.map((entry, index) => stagedRow(keyed.length + index, `again${index}`, [...entry.slice(2, 5), -index]));
    const written = await writer(settings, "manual-keys").write(repeated, control());
    expect(written.loaded).toBe(0);
    expect(written.duplicates.map((entry) => [entry.row[0], entry.first])).toEqual(keyed.map((_, index) => [keyed.length + index, index]));
  });
});
