/** The D1 source's query checks and paging SQL, without a database. */
import { describe, expect, it } from "vitest";
import { D1SourceSchema, d1Settings } from "../../src/sources/d1/config";
import { boundValues, pageSql } from "../../src/sources/d1/read";
import { readOnlyProblem } from "../../src/sources/d1/read-only-sql";

describe("readOnlyProblem", () => {
  it.each([
    "SELECT * FROM orders",
    "select store_id, sum(net_cents) as net from orders where order_day = ?1 group by store_id",
    "WITH days AS (SELECT DISTINCT order_day FROM orders) SELECT * FROM days",
    "SELECT replace(name, 'a', 'b') FROM t",
    "SELECT 'DELETE FROM orders; DROP TABLE orders' AS text",
    'SELECT "update", [delete], `insert` FROM t -- DROP TABLE t',
    "SELECT * FROM t /* ; DELETE FROM t */ WHERE a = ?1 AND b = ?2",
    "SELECT 'it''s' AS quote",
  ])("lets %j through", (query) => {
    expect(readOnlyProblem(query)).toBeNull();
  });

  it.each([
    ["DELETE FROM orders", "must be a SELECT (or WITH … SELECT)"],
    ["SELECT 1; DELETE FROM orders", "must be one statement, without ; (it is wrapped in the query that pages it)"],
    ["SELECT 1;", "must be one statement, without ; (it is wrapped in the query that pages it)"],
    ["WITH gone AS (SELECT 1) DELETE FROM orders", "must only read, but uses DELETE"],
    ["WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", "must only read, but uses INSERT"],
    ["SELECT * FROM t WHERE a = ?", "binds its values as ?1, ?2, … (in the order of params), not ?"],
    ["SELECT * FROM t WHERE a = :a", "binds its values as ?1, ?2, … (in the order of params), not :a"],
    ["PRAGMA table_info(orders)", "must be a SELECT (or WITH … SELECT)"],
    ["SELECT 'open", "has a string that is never closed"],
    ["SELECT 1 /* open", "has a comment that is never closed"],
    ["REPLACE INTO t VALUES (1)", "must be a SELECT (or WITH … SELECT)"],
    ["SELECT * FROM t RETURNING *", "must only read, but uses RETURNING"],
  ])("refuses %j", (query, problem) => {
    expect(readOnlyProblem(query)).toBe(problem);
  });
});

describe("the D1 source's declaration", () => {
  const declared = { type: "d1", database: "DB", query: "SELECT * FROM orders WHERE order_day = ?1", params: ["slot.date"], pageBy: ["store_id", "order_id"] };

  it("fills its defaults", () => {
    const parsed = D1SourceSchema.parse(declared);
    expect(d1Settings(parsed, { name: "primary" })).toEqual({ kind: "d1", name: "primary", database: "DB", query: declared.query, params: ["slot.date"], pageBy: ["store_id", "order_id"], pageRows: 1_000 });
  });

  it.each([
    [{ query: "SELECT * FROM t WHERE a = ?2", params: ["slot.date"] }, "params", "the query uses ?2 but params binds 1 value"],
    [{ params: ["slot.month"] }, "params.0", "slot.month is not a slot value (use slot.date, slot.iso, slot.epochMs)"],
    [{ params: ["today"] }, "params.0", '"today" is not a run value (slot.date, slot.iso, slot.epochMs, params.<name>, watermark); a constant is { "value": … }'],
    [{ pageBy: [] }, "pageBy", "needs at least one column: pages are read by keyset on them, never by OFFSET"],
    [{ pageBy: ["a", "a"] }, "pageBy", "names a column twice"],
    [{ pageBy: ["a; --"] }, "pageBy.0", "must be a column name of the query's result"],
    [{ query: "UPDATE orders SET net_cents = 0" }, "query", "must be a SELECT (or WITH … SELECT)"],
  ])("refuses %j, naming the field", (change, path, message) => {
    const result = D1SourceSchema.safeParse({ ...declared, ...change });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => [issue.path.join("."), issue.message])).toContainEqual([path, message]);
  });
});

describe("paging", () => {
  const source = d1Settings(D1SourceSchema.parse({ type: "d1", database: "DB", query: "SELECT * FROM t -- trailing comment", params: ["slot.date", "params.store", { value: 3 }, "watermark", "slot.epochMs"], pageBy: ["a", "b"], pageRows: 10 }), { name: "primary" });

  it("binds the run's values in order and never writes them into the SQL", () => {
    const values = boundValues(source, { slot: { asOf: 1_764_300_000_000, scheduledFor: null, date: "2025-11-28" }, params: { store: "'); DROP TABLE t; --" }, watermark: null, runValues: { "slot.date": "2025-11-28" } });
    expect(values).toEqual(["2025-11-28", "'); DROP TABLE t; --", 3, null, 1_764_300_000_000]);
    expect(pageSql(source, true)).not.toContain("DROP");
  });

  it("pages by keyset after the params, a newline closing the query's trailing comment", () => {
    const order = '"a" COLLATE BINARY, "b" COLLATE BINARY';
    expect(pageSql(source, false)).toBe(`SELECT * FROM (\nSELECT * FROM t -- trailing comment\n) AS page ORDER BY ${order} LIMIT ?6`);
    expect(pageSql(source, true)).toBe(`SELECT * FROM (\nSELECT * FROM t -- trailing comment\n) AS page WHERE (${order}) >= (?6, ?7) ORDER BY ${order} LIMIT ?8`);
  });
});
