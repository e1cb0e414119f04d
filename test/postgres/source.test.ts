/**
 * The PostgreSQL source against a real server: pages by keyset in one read-only snapshot, values bound,
 * PostgreSQL's values as records carry them exactly, and the queries and results that cannot be read
 * safely failing with what is wrong (permanent) or what may pass (transient).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { postgresSource } from "../../src/sources/postgres";
import { PostgresSourceSchema, postgresSettings, type PostgresSource } from "../../src/sources/postgres/config";
import type { SourceReadContext } from "../../src/sources/kind";
import { uniqueName } from "../support/runtime";
import { failureOf, sql } from "./support";

function source(declared: Record<string, unknown>): PostgresSource {
  return postgresSettings(PostgresSourceSchema.parse({ type: "postgres", hyperdrive: "HYPERDRIVE", ...declared }), { name: "primary", defaultTimeoutMs: 10_000 });
}

function context(changes: Partial<SourceReadContext> = {}): SourceReadContext {
  return {
    env: env as unknown as Record<string, unknown>,
    pipeline: "test-pg-source",
    runId: "manual-1",
    sample: undefined,
    runValues: { "slot.date": "2026-11-30", "slot.iso": "2026-11-30T03:00:00.000Z", "slot.epochMs": "1764471600000", "params.region": "eu" },
    slot: { asOf: 1_764_471_600_000, scheduledFor: null, date: "2026-11-30" },
    params: { region: "eu", minimum: 3 },
    watermark: null,
    requiredColumns: [],
    maxRecordBytes: 1_000_000,
    reread: false,
    share: null,
    signal: new AbortController().signal,
    ...changes,
  };
}

async function readAll(settings: PostgresSource, changes: Partial<SourceReadContext> = {}) {
  const reader = postgresSource.read(settings as never, context(changes));
  const records: Record<string, unknown>[] = [];
  let pages = 0;
  for (;;) {
    const next = await reader.next();
    if (next.done) return { records, pages, read: next.value };
    pages += 1;
    for (const item of next.value) records.push((item as { record: Record<string, unknown> }).record);
  }
}

const table = () => uniqueName("src").toLowerCase().replace(/[^a-z0-9_]/g, "_");

describe("the PostgreSQL source", () => {
  it("reads every row once in pages by keyset, with the run's values bound", async () => {
    const name = table();
    await sql(`CREATE TABLE ${name} (region text, n integer, label text)`);
    await sql(`INSERT INTO ${name} SELECT CASE WHEN i % 4 = 0 THEN 'us' ELSE 'eu' END, i, 'row ' || i FROM generate_series(1, 95) AS i`);
    const settings = source({ query: `SELECT n, label FROM ${name} WHERE region = $1 AND n >= $2 AND $3::date = '2026-11-30'`, params: ["params.region", "params.minimum", "slot.date"], cursor: ["n"], pageRows: 10 });
    const { records, read } = await readAll(settings);
    const expected = Array.from({ length: 95 }, (_, index) => index + 1).filter((n) => n % 4 !== 0 && n >= 3);
    expect(records.map((record) => record.n)).toEqual(expected);
    expect(records[0]).toEqual({ n: 3, label: "row 3" });
    expect(read.pages).toBe(Math.ceil(expected.length / 10) + (expected.length % 10 === 0 ? 1 : 0));
  });

  it("pages by two columns, one of them text with quotes and unicode", async () => {
    const name = table();
    await sql(`CREATE TABLE ${name} (store text, id integer)`);
    const stores = ["a'b", "Zürich", "東京", "😀", "plain"];
    for (const store of stores) await sql(`INSERT INTO ${name} SELECT $1, i FROM generate_series(1, 7) AS i`, [store]);
    const { records } = await readAll(source({ query: `SELECT store, id FROM ${name}`, cursor: ["store", "id"], pageRows: 4 }));
    expect(records).toHaveLength(35);
    expect(new Set(records.map((record) => `${record.store}/${record.id}`)).size).toBe(35);
  });

  it("gives PostgreSQL's values as JSON can carry them exactly", async () => {
    const { records } = await readAll(
      source({
        query: `SELECT 1 AS id, 9223372036854775807::bigint AS huge, 9007199254740991::bigint AS safe, 12345678901234567890.123456789::numeric AS exact,
          'NaN'::float8 AS nan, '-Infinity'::float8 AS minus_inf, 0.1::float8 AS tenth, true AS yes,
          '2026-11-30 10:15:00.123456+05:30'::timestamptz AS at, '2026-11-30 10:15:00'::timestamp AS local_at, '2026-11-30'::date AS day,
          '{"a": [1, "x"], "b": null}'::jsonb AS doc, E'it''s "quoted"\\n' AS quoted, '\\x00ff'::bytea AS bytes, interval '1 day 2 hours' AS span`,
        cursor: ["id"],
      }),
    );
    expect(records).toEqual([
      {
        id: 1,
        huge: "9223372036854775807",
        safe: 9007199254740991,
        exact: "12345678901234567890.123456789",
        nan: "NaN",
        minus_inf: "-Infinity",
        tenth: 0.1,
        yes: true,
        at: "2026-11-30T04:45:00.123456Z",
        local_at: "2026-11-30T10:15:00",
        day: "2026-11-30",
        doc: { a: [1, "x"], b: null },
        quoted: 'it\'s "quoted"\n',
        bytes: "\\x00ff",
        span: "1 day 02:00:00",
      },
    ]);
  });

  it("binds the watermark, so a run reads only what changed since the last", async () => {
    const name = table();
    await sql(`CREATE TABLE ${name} (id integer, updated_at timestamptz)`);
    await sql(`INSERT INTO ${name} VALUES (1, '2026-11-01T00:00:00Z'), (2, '2026-11-20T00:00:00Z'), (3, '2026-11-29T12:00:00Z')`);
    const settings = source({ query: `SELECT id, updated_at FROM ${name} WHERE updated_at > coalesce($1::timestamptz, '-infinity')`, params: ["watermark"], cursor: ["id"] });
    expect((await readAll(settings)).records.map((record) => record.id)).toEqual([1, 2, 3]);
    const since = await readAll(settings, { watermark: { param: null, value: "2026-11-20T00:00:00.000Z" } });
    expect(since.records).toEqual([{ id: 3, updated_at: "2026-11-29T12:00:00Z" }]);
  });

  it("runs the query read-only: one that writes fails permanently and writes nothing", async () => {
    const name = table();
    await sql(`CREATE TABLE ${name} (id integer)`);
    await sql(`INSERT INTO ${name} VALUES (1), (2)`);
    // A function that writes, called from a SELECT: only the server can see what it does.
    await sql(`CREATE FUNCTION ${name}_bump() RETURNS integer LANGUAGE sql AS 'INSERT INTO ${name} VALUES (99) RETURNING id'`);
    const failure = await failureOf(readAll(source({ query: `SELECT ${name}_bump() AS id`, cursor: ["id"] })));
    expect(failure.kind).toBe("permanent");
    expect(failure.message).toMatch(/cannot execute INSERT in a read-only transaction/);
    expect(await sql(`SELECT count(*)::int AS n FROM ${name}`)).toEqual([{ n: 2 }]);
  });

  it("fails on a null cursor value wherever it sorts, never skipping its row", async () => {
    const name = table();
    await sql(`CREATE TABLE ${name} (a integer, b integer)`);
    await sql(`INSERT INTO ${name} VALUES (1, 1), (1, NULL), (2, 1), (3, 1), (4, 1), (5, 1)`);
    await sql(`INSERT INTO ${name} SELECT NULL, i FROM generate_series(10, 12) AS i`);
    const single = await failureOf(readAll(source({ query: `SELECT a FROM ${name} WHERE b IS NOT NULL OR a IS NULL`, cursor: ["a"], pageRows: 2 })));
    expect(single.message).toMatch(/a row has no value in a, a cursor column/);
    const pair = await failureOf(readAll(source({ query: `SELECT a, b FROM ${name} WHERE a IS NOT NULL`, cursor: ["a", "b"], pageRows: 1 })));
    expect(pair.message).toMatch(/a row has no value in b, a cursor column/);
  });

  it("compares cursor values as the server does: numeric 1.0 and 1.00 are one value, so not unique", async () => {
    const name = table();
    await sql(`CREATE TABLE ${name} (id numeric)`);
    await sql(`INSERT INTO ${name} VALUES (1.00), (1.0), (2), (3)`);
    const failure = await failureOf(readAll(source({ query: `SELECT id FROM ${name}`, cursor: ["id"], pageRows: 2 })));
    expect(failure.message).toMatch(/is not unique in the result; cursor must name columns that are/);
  });

  it("gives arrays element by element, as exactly as their elements", async () => {
    const { records } = await readAll(
      source({
        query: `SELECT 1 AS id, ARRAY[9223372036854775807, 1]::bigint[] AS big, ARRAY[12345678901234567890.5]::numeric[] AS exact, ARRAY['NaN', 1.5]::float8[] AS floats,
          ARRAY['2026-11-30 10:15:00.123456+00']::timestamptz[] AS stamps, ARRAY['2026-11-30']::date[] AS days, ARRAY[NULL, 2]::bigint[] AS holes`,
        cursor: ["id"],
      }),
    );
    expect(records).toEqual([{ id: 1, big: ["9223372036854775807", 1], exact: ["12345678901234567890.5"], floats: ["NaN", 1.5], stamps: ["2026-11-30T10:15:00.123456Z"], days: ["2026-11-30"], holes: [null, 2] }]);
  });

  it("closes its connection when the read is stopped between pages, leaving no snapshot open", async () => {
    const name = table();
    await sql(`CREATE TABLE ${name} (id integer)`);
    await sql(`INSERT INTO ${name} SELECT i FROM generate_series(1, 50) AS i`);
    const stop = new AbortController();
    const reader = postgresSource.read(source({ query: `SELECT id FROM ${name}`, cursor: ["id"], pageRows: 10 }) as never, context({ signal: stop.signal, pipeline: name }));
    await reader.next(); // one page read, the generator suspended: as an extract stopped by a cancel leaves it
    stop.abort();
    const open = async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [`pipeline ${name} extract`]))[0]!.n;
    for (let tries = 0; tries < 50 && (await open()) > 0; tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await open()).toBe(0);
  });

  it("fails rather than skip rows when the cursor repeats or is null", async () => {
    const name = table();
    await sql(`CREATE TABLE ${name} (id integer, day text)`);
    await sql(`INSERT INTO ${name} SELECT i, CASE WHEN i <= 6 THEN 'same' ELSE NULL END FROM generate_series(1, 8) AS i`);
    const repeated = await failureOf(readAll(source({ query: `SELECT id, day FROM ${name} WHERE day IS NOT NULL`, cursor: ["day"], pageRows: 2 })));
    expect(repeated.message).toMatch(/day = \["same"\] is not unique in the result; cursor must name columns that are/);
    const missing = await failureOf(readAll(source({ query: `SELECT id, day FROM ${name} WHERE day IS NULL`, cursor: ["day"] })));
    expect(missing.message).toMatch(/a row has no value in day, a cursor column/);
    expect([repeated.kind, missing.kind]).toEqual(["permanent", "permanent"]);
  });

  it("fails a missing table, a missing column and bad SQL permanently, naming them; a refused connection transiently", async () => {
    const missingTable = await failureOf(readAll(source({ query: "SELECT id FROM no_such_table", cursor: ["id"] })));
    expect(missingTable.message).toContain('relation "no_such_table" does not exist');
    const name = table();
    await sql(`CREATE TABLE ${name} (id integer)`);
    const missingColumn = await failureOf(readAll(source({ query: `SELECT id, nope FROM ${name}`, cursor: ["id"] })));
    expect(missingColumn.message).toContain('column "nope" does not exist');
    const syntax = await failureOf(readAll(source({ query: `SELECT id FROM ${name} WHERE`, cursor: ["id"] })));
    expect(syntax.message).toMatch(/syntax error/);
    expect([missingTable.kind, missingColumn.kind, syntax.kind]).toEqual(["permanent", "permanent", "permanent"]);
    const down = await failureOf(readAll(source({ hyperdrive: "HYPERDRIVE_DOWN", query: "SELECT 1 AS id", cursor: ["id"], connectWaitMs: 0 })));
    expect(down.kind).toBe("transient");
    expect(down.message).not.toContain("down-password");
  });

  it("checks the declaration before any run: one SELECT, every $n bound, a cursor", () => {
    const problems = (declared: Record<string, unknown>) => {
      const checked = PostgresSourceSchema.safeParse({ type: "postgres", hyperdrive: "HYPERDRIVE", cursor: ["id"], ...declared });
      return checked.success ? [] : checked.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    };
    expect(problems({ query: "SELECT 1 AS id; DROP TABLE x" })).toEqual(["query: must be one statement, without ; (it is wrapped in the query that pages it)"]);
    expect(problems({ query: "DELETE FROM x" })).toEqual(["query: must be a SELECT (or WITH … SELECT, VALUES, TABLE)"]);
    expect(problems({ query: "SELECT id FROM t WHERE a = $2 AND b = '$3' AND c = $$ $4 $$ -- $5", params: ["slot.date"] })).toEqual(["params: the query uses $2 but params binds 1 value", "params: binds $1, which the query never uses"]);
    expect(problems({ query: "SELECT id FROM t WHERE a = $1", params: ["slot.date", "params.region"] })).toEqual(["params: binds $2, which the query never uses"]);
    expect(problems({ query: "SELECT 'a;b' AS id, $tag$ ; $tag$ AS x /* ; */" })).toEqual([]);
    expect(problems({ query: "SELECT 1 AS id", cursor: [] })).toEqual(["cursor: needs at least one column: pages are read by keyset on them, never by OFFSET"]);
    expect(problems({ query: "SELECT 1 AS id", params: ["slot.month"] })[0]).toMatch(/slot.month is not a slot value/);
  });

  it("shows as misconfigured when the Worker has no such binding, or the unconfigured placeholder", () => {
    const settings = source({ query: "SELECT 1 AS id", cursor: ["id"] });
    const pipeline = { params: [], hasSample: false };
    expect(postgresSource.problems(settings as never, { ...pipeline, env: env as unknown as Record<string, unknown> })).toEqual([]);
    expect(postgresSource.problems({ ...settings, hyperdrive: "NOPE" } as never, { ...pipeline, env: env as unknown as Record<string, unknown> })).toEqual([expect.stringContaining("hyperdrive NOPE is not a Hyperdrive binding of this Worker")]);
    const placeholder = { HYPERDRIVE: { connectionString: "postgres://not-configured@x/not-configured", database: "not-configured" } };
    expect(postgresSource.problems(settings as never, { ...pipeline, env: placeholder })).toEqual([expect.stringContaining("has no PostgreSQL database configured")]);
  });
});
