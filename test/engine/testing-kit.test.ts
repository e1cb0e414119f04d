import { describe, expect, it } from "vitest";
import { z } from "zod";
import { definePipeline, type Pipeline } from "../../src/engine/define-pipeline";
import { checkProblems, type CheckDefinition } from "../../src/engine/checks";
import { reject, skip } from "../../src/engine/outcomes";
import { runPipeline } from "../../src/engine/testing";

/**
 * The test kit and the dataset checks in plain Node: every check kind judged over a batch by the code a
 * run uses, each test failing when its check is taken out.
 */

const COLUMNS = { sale_id: "text", store: { type: "text", nullable: true }, ref: { type: "text", nullable: true }, at: "text", cents: "integer" } as const;
const Sale = z.object({ id: z.string(), store: z.string().nullable().default("berlin"), ref: z.string().nullable().default(null), at: z.string().default("2026-12-01T10:00:00.000Z"), cents: z.number().int().default(100) });

function sales(checks: CheckDefinition<typeof COLUMNS>[], duplicates: "reject" | "last-wins" = "reject"): Pipeline {
  return definePipeline({
    name: "kit-sales",
    description: "Kit test",
    schedule: { every: "1d" },
    sources: [{ type: "sample" }],
    record: Sale,
    transform: (sale) => {
      if (sale.cents < 0) return reject(`negative amount ${sale.cents}`);
      if (sale.cents === 0) return skip();
      return { sale_id: sale.id, store: sale.store, ref: sale.ref, at: sale.at, cents: sale.cents };
    },
    destination: { table: "kit_sales", key: ["sale_id"], columns: COLUMNS, duplicates },
    checks,
  });
}

const outcomeOf = (result: Awaited<ReturnType<typeof runPipeline>>, name: string) => result.checks?.results.find((entry) => entry.name === name);

describe("runPipeline", () => {
  it("returns rows, rejections with reasons, skips and accounting as a run computes them", async () => {
    const result = await runPipeline(sales([]), { records: [{ id: "a" }, { id: "b", cents: -5 }, { id: "c", cents: 0 }, { id: "a", cents: 7 }, "not an object"] });
    expect(result.status).toBe("succeeded");
    expect(result.rows).toEqual([{ sale_id: "a", store: "berlin", ref: null, at: "2026-12-01T10:00:00.000Z", cents: 100 }]);
    expect(result.rejected.map(({ position, stage, reason }) => ({ position, stage, reason }))).toEqual([
      { position: 1, stage: "transform", reason: "negative amount -5" },
      { position: 3, stage: "load", reason: 'duplicate id "a" (first seen at position 0)' },
      { position: 4, stage: "transform", reason: "Invalid input: expected object, received string" },
    ]);
    expect(result.skipped).toEqual([2]);
    expect(result.accounting).toEqual({ extracted: 5, loaded: 1, rejected: 3, skipped: 1, balanced: true });
    expect(result.checks).toBeNull();
  });

  it("keeps the last row of a key with last-wins, counting each write as a run does", async () => {
    const result = await runPipeline(sales([], "last-wins"), { records: [{ id: "a" }, { id: "a", cents: 7 }] });
    expect(result.rows).toEqual([expect.objectContaining({ sale_id: "a", cents: 7 })]);
    expect(result.accounting).toMatchObject({ loaded: 2, balanced: true });
  });

  it("applies the pipeline's contract and reports the fields it met", async () => {
    const frozen = { ...sales([]), contract: { unknownFields: "freeze" } } as Pipeline;
    const result = await runPipeline(frozen, { records: [{ id: "a" }, { id: "b", discount: 5 }] });
    expect(result.rows).toHaveLength(1);
    expect(result.rejected).toEqual([expect.objectContaining({ position: 1, stage: "transform", reason: expect.stringContaining('unknown field "discount"') })]);
    expect(result.contract).toMatchObject({ unknownFields: "freeze", declared: true, fields: [{ name: "discount", records: 1, firstPosition: 1 }] });
  });

  it("says what a body is when given the text itself", async () => {
    await expect(runPipeline(sales([]), { body: "id\na" as never })).rejects.toThrow('body is { format: "csv" | "ndjson" | "json", text }, not the text itself');
  });

  it("reads a body in a source format with the real parser", async () => {
    const result = await runPipeline(sales([]), { body: { format: "ndjson", text: '{"id":"a"}\nnot json\n' } });
    expect(result.rows).toHaveLength(1);
    expect(result.rejected).toEqual([expect.objectContaining({ position: 1, stage: "extract", raw: JSON.stringify("not json") })]);
  });
});

describe("dataset checks in the kit", () => {
  it("row_count: absolute bounds, and against the median of the usual", async () => {
    const pipeline = sales([{ type: "row_count", min: 2, max: 3 }, { type: "row_count", name: "usual", usual: { atLeast: 0.5, runs: 3 }, severity: "warn" }]);
    const small = await runPipeline(pipeline, { records: [{ id: "a" }], history: [10, 4, 6, 1_000] });
    expect(small.status).toBe("failed");
    expect(small.errorCode).toBe("checks_failed");
    expect(outcomeOf(small, "row_count")).toMatchObject({ outcome: "failed", expected: "at least 2 rows and at most 3 rows", found: "1 rows" });
    // The median of the last 3 (10, 4, 6) is 6: half of it is 3.
    expect(outcomeOf(small, "usual")).toMatchObject({ outcome: "failed", severity: "warn", expected: "at least 50 % of the usual 6 (median of the last 3 successful runs): ≥ 3 rows" });
    const fine = await runPipeline(pipeline, { records: [{ id: "a" }, { id: "b" }, { id: "c" }], history: [] });
    expect(fine.status).toBe("succeeded");
    expect(outcomeOf(fine, "usual")).toMatchObject({ outcome: "skipped" });
  });

  it("reject_rate: rejected out of extracted, before load", async () => {
    const pipeline = sales([{ type: "reject_rate", max: 0.25 }]);
    expect((await runPipeline(pipeline, { records: [{ id: "a" }, { id: "b" }, { id: "c" }, { id: "d", cents: -1 }] })).status).toBe("succeeded");
    const bad = await runPipeline(pipeline, { records: [{ id: "a" }, { id: "b", cents: -1 }, { id: "c", cents: -1 }] });
    expect(outcomeOf(bad, "reject_rate")).toMatchObject({ outcome: "failed", found: "66.67 % (2 of 3)" });
    expect(bad.rows).toEqual([]);
  });

  it("not_null and accepted_values name offending records with positions and values", async () => {
    const result = await runPipeline(sales([{ type: "not_null", columns: ["store"] }, { type: "accepted_values", column: "store", values: ["berlin", "munich"], severity: "warn" }]), {
      records: [{ id: "a" }, { id: "b", store: null }, { id: "c", store: "paris" }],
    });
    expect(outcomeOf(result, "not_null(store)")).toMatchObject({ outcome: "failed", offending: 1, sample: [{ position: 1, id: "b", values: { store: null } }] });
    // A null is not judged by accepted_values (as in dbt): only paris offends.
    expect(outcomeOf(result, "accepted_values(store)")).toMatchObject({ outcome: "failed", offending: 1, sample: [{ position: 2, id: "c", values: { store: "paris" } }] });
  });

  it("unique: within the batch, and against the destination's rows under another key", async () => {
    const pipeline = sales([{ type: "unique", columns: ["ref"] }]);
    const twice = await runPipeline(pipeline, { records: [{ id: "a", ref: "x" }, { id: "b", ref: "y" }, { id: "c", ref: "x" }, { id: "d" }, { id: "e" }] });
    // Nulls are never equal: d and e do not offend.
    expect(outcomeOf(twice, "unique(ref)")).toMatchObject({ outcome: "failed", offending: 2, sample: [{ position: 0, id: "a" }, { position: 2, id: "c" }] });
    const table = { kit_sales: [{ sale_id: "z", ref: "y" }] };
    expect(outcomeOf(await runPipeline(pipeline, { records: [{ id: "b", ref: "y" }], tables: table }), "unique(ref)")).toMatchObject({ outcome: "failed", offending: 1 });
    expect(outcomeOf(await runPipeline(pipeline, { records: [{ id: "z", ref: "y" }], tables: table }), "unique(ref)")).toMatchObject({ outcome: "passed" });
  });

  it("unique on columns that are not the key: a line sent twice is one row, not a violation; a swap with the table is none either", async () => {
    const pipeline = sales([{ type: "unique", columns: ["ref"] }]);
    const twice = await runPipeline(pipeline, { records: [{ id: "a", ref: "x" }, { id: "a", ref: "x" }, { id: "b", ref: "y" }] });
    expect(outcomeOf(twice, "unique(ref)")).toMatchObject({ outcome: "passed" });
    expect(twice.rejected).toEqual([expect.objectContaining({ position: 1, stage: "load" })]);
    // The table holds a:y and b:x; the batch writes a:x and b:y, so afterwards each value is held once.
    const swapped = await runPipeline(pipeline, { records: [{ id: "a", ref: "x" }, { id: "b", ref: "y" }], tables: { kit_sales: [{ sale_id: "a", ref: "y" }, { sale_id: "b", ref: "x" }] } });
    expect(outcomeOf(swapped, "unique(ref)")).toMatchObject({ outcome: "passed" });
    // On the key itself, a key twice is a second row.
    const onKey = await runPipeline(sales([{ type: "unique", columns: ["sale_id"] }], "last-wins"), { records: [{ id: "a" }, { id: "a" }] });
    expect(outcomeOf(onKey, "unique(sale_id)")).toMatchObject({ outcome: "failed", offending: 2 });
  });

  it("refuses a definition the deployment would refuse", async () => {
    await expect(runPipeline(sales([{ type: "freshness", column: "at", lag: "soon" }]), { records: [] })).rejects.toThrow('lag is a duration like "2h" or "3d"');
  });

  it("custom: a check that changes its argument changes nothing else", async () => {
    const pipeline = sales([
      { type: "custom", name: "meddler", test: (batch) => { batch.columns.cents.sum = -1; return { ok: true, expected: "", found: "" }; } },
      { type: "custom", name: "after", test: (batch) => ({ ok: batch.columns.cents.sum === 100, expected: "100", found: String(batch.columns.cents.sum) }) },
    ]);
    expect(outcomeOf(await runPipeline(pipeline, { records: [{ id: "a" }] }), "after")).toMatchObject({ outcome: "passed" });
  });

  it("relationship: present in the target table, or in the batch when the target is the pipeline's own destination", async () => {
    const other = sales([{ type: "relationship", columns: ["ref"], to: { table: "known", columns: ["sale_id"] } }]);
    const result = await runPipeline(other, { records: [{ id: "a" }, { id: "r1", ref: "a" }, { id: "r2", ref: "old" }], tables: { known: [{ sale_id: "old" }] } });
    expect(outcomeOf(result, "relationship(ref->known.sale_id)")).toMatchObject({ outcome: "failed", offending: 1, sample: [{ position: 1, id: "r1", values: { ref: "a" } }] });
    const own = sales([{ type: "relationship", columns: ["ref"], to: { pipeline: "kit-sales", columns: ["sale_id"] } }]);
    const ownResult = await runPipeline(own, { records: [{ id: "a" }, { id: "r1", ref: "a" }, { id: "r2", ref: "old" }, { id: "r3", ref: "gone" }], tables: { kit_sales: [{ sale_id: "old" }] } });
    expect(outcomeOf(ownResult, "relationship(ref->kit-sales.sale_id)")).toMatchObject({ outcome: "failed", offending: 1, sample: [{ position: 3, id: "r3", values: { ref: "gone" } }] });
  });

  it("freshness: the newest value at least the slot minus the lag", async () => {
    const pipeline = sales([{ type: "freshness", column: "at", lag: "1d" }]);
    const slot = "2026-12-02T03:00:00.000Z";
    expect((await runPipeline(pipeline, { slot, records: [{ id: "a", at: "2026-11-30T00:00:00.000Z" }, { id: "b", at: "2026-12-01T09:00:00.000Z" }] })).status).toBe("succeeded");
    const stale = await runPipeline(pipeline, { slot, records: [{ id: "a", at: "2026-11-29T00:00:00.000Z" }] });
    expect(outcomeOf(stale, "freshness(at)")).toMatchObject({ outcome: "failed", expected: "the newest at at or after 2026-12-01T03:00:00.000Z (the slot minus 1d)", found: "2026-11-29T00:00:00.000Z" });
  });

  it("custom: a function of the aggregates, a throw is a failure", async () => {
    const pipeline = sales([
      { type: "custom", name: "revenue", test: (batch) => ({ ok: (batch.columns.cents.sum ?? 0) >= 150, expected: "≥ 150 cents", found: `${batch.columns.cents.sum} cents over ${batch.rows} rows` }) },
      { type: "custom", name: "broken", severity: "warn", test: () => { throw new Error("boom"); } },
    ]);
    const result = await runPipeline(pipeline, { records: [{ id: "a", cents: 100 }, { id: "b", cents: 30 }] });
    expect(outcomeOf(result, "revenue")).toMatchObject({ outcome: "failed", found: "130 cents over 2 rows" });
    expect(outcomeOf(result, "broken")).toMatchObject({ outcome: "failed", severity: "warn", found: "it threw: boom" });
  });
});

describe("checkProblems", () => {
  it("names each mistake in a pipeline's checks", () => {
    expect(
      checkProblems(
        [
          { type: "row_count" },
          { type: "reject_rate", max: 5 },
          { type: "unique", columns: ["nope"] },
          { type: "relationship", columns: ["ref"], to: { table: "x", columns: ["a", "b"] } },
          { type: "freshness", column: "at", lag: "soon" },
          { type: "not_null", columns: ["store"] },
          { type: "not_null", columns: ["store"] },
        ] as never,
        COLUMNS,
      ),
    ).toEqual([
      "checks[0] (row_count): give min, max or usual ({ atLeast, atMost })",
      "checks[1] (reject_rate): max is a fraction from 0 to 1 (0.05 for 5 %)",
      'checks[2] (unique(nope)) names "nope", which is not a destination column',
      "checks[3] (relationship(ref->x.a,b)): to.columns lists as many columns as columns",
      'checks[4] (freshness(at)): lag is a duration like "2h" or "3d"',
      "checks[6] (not_null(store)): two checks are named not_null(store); give one a name",
    ]);
  });
});
