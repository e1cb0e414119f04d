/**
 * Contracts for drift: what a raw record carrying a top-level field the record schema does not know does.
 * `freeze` rejects it naming the field, `discard` drops the field and counts it, `evolve` (and no contract
 * at all) lets it go on and reports the field; the tally of one shard merges with the others'. A schema
 * that names no fields cannot have a contract.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { mergeContractSummaries, MAX_UNKNOWN_FIELDS, type ContractSummary } from "../../src/domain/contract-summary";
import { applyTransform } from "../../src/engine/apply-transform";
import { applyContract, ContractBreach, contractProblems, ContractTally, knownFields, recordContract } from "../../src/engine/contract";
import { checkDefinition, definePipeline, type Pipeline } from "../../src/engine/define-pipeline";
import { resolveSettings } from "../../src/engine/settings";
import { csvRecords } from "../../src/sources/formats/csv-records";
import { body, collect, MiB, never, records } from "../sources/support";

const Order = z.object({ id: z.string().min(1), amount: z.number(), note: z.string().optional() });

function orders(contract?: Pipeline["contract"], record: z.ZodType = Order): Pipeline {
  return definePipeline({
    name: "contract-orders",
    description: "test",
    schedule: { every: "1h" },
    sources: [{ type: "sample" }],
    sample: { records: [] },
    record: record as typeof Order,
    ...(contract ? { contract } : {}),
    transform: (order) => ({ id: order.id, amount: order.amount }),
    destination: { table: "contract_orders", key: ["id"], columns: { id: "text", amount: "real" } },
  });
}

const context = { runId: "manual-1", pipeline: "contract-orders", trigger: "manual" as const, scheduledFor: null, asOf: 0, timezone: "UTC", config: {}, params: {} };

/** Records through one pipeline as a stage sends them (one tally, positions from 0), and what the tally says. */
function run(pipeline: Pipeline, raws: readonly unknown[]) {
  const settings = resolveSettings(pipeline, { D1_DATABASE_NAME: "db" });
  if (!settings.ok) throw new Error(settings.errors.join("; "));
  const tally = ContractTally.of(pipeline);
  const outcomes = raws.map((raw, position) => applyTransform(pipeline, settings.settings.destination, raw, context, tally, position));
  return { outcomes, summary: tally.summary() };
}

const drifted = [
  { id: "o1", amount: 10 },
  { id: "o2", amount: 20, discount: 5 },
  { id: "o3", amount: 30, discount: 1, channel: "web" },
  { id: "o4", amount: 40 },
];

describe("freeze", () => {
  it("rejects a record carrying an unknown field, naming it, and lets the others through", () => {
    const { outcomes, summary } = run(orders({ unknownFields: "freeze" }), drifted);
    expect(outcomes).toEqual([
      { kind: "row", id: "o1", values: ["o1", 10] },
      { kind: "rejected", id: "o2", reason: 'unknown field "discount" (contract: freeze)' },
      { kind: "rejected", id: "o3", reason: 'unknown fields "discount", "channel" (contract: freeze)' },
      { kind: "row", id: "o4", values: ["o4", 40] },
    ]);
    expect(summary).toEqual({
      unknownFields: "freeze",
      declared: true,
      fields: [
        { name: "discount", records: 2, firstPosition: 1 },
        { name: "channel", records: 1, firstPosition: 2 },
      ],
      truncated: false,
      records: 2,
    });
  });

  it("names at most five fields in a reason, and counts the rest", () => {
    const raw = { id: "o1", amount: 1, ...Object.fromEntries(Array.from({ length: 8 }, (_, index) => [`extra${index}`, index])) };
    expect(applyContract(recordContract(orders({ unknownFields: "freeze" })), raw, 0)).toEqual(new ContractBreach('unknown fields "extra0", "extra1", "extra2", "extra3", "extra4" and 3 more (contract: freeze)'));
  });

  it("knows a field the schema declares optional, present or not", () => {
    expect(run(orders({ unknownFields: "freeze" }), [{ id: "o1", amount: 1, note: "gift" }]).outcomes).toEqual([{ kind: "row", id: "o1", values: ["o1", 1] }]);
  });
});

describe("discard", () => {
  it("drops the unknown fields before the schema sees them, and counts each per record", () => {
    // A strict schema would refuse the extra field: the record passes because the contract dropped it.
    const { outcomes, summary } = run(orders({ unknownFields: "discard" }, Order.strict()), drifted);
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(["row", "row", "row", "row"]);
    expect(summary).toEqual({
      unknownFields: "discard",
      declared: true,
      fields: [
        { name: "discount", records: 2, firstPosition: 1 },
        { name: "channel", records: 1, firstPosition: 2 },
      ],
      truncated: false,
      records: 2,
    });
  });

  it("gives the schema a copy without the unknown fields, leaving the raw record (kept for rejections) as it came", () => {
    const raw = { id: "o2", amount: 20, discount: 5 };
    const contract = recordContract(orders({ unknownFields: "discard" }));
    expect(applyContract(contract, raw, 0)).toEqual({ id: "o2", amount: 20 });
    expect(raw).toEqual({ id: "o2", amount: 20, discount: 5 });
  });
});

describe("evolve, and no contract", () => {
  it("lets every record go on as it is and reports the new fields once, with counts and the first position", () => {
    const raw = { id: "o2", amount: 20, discount: 5 };
    expect(applyContract(recordContract(orders({ unknownFields: "evolve" })), raw, 0)).toBe(raw);
    const { outcomes, summary } = run(orders({ unknownFields: "evolve" }), drifted);
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(["row", "row", "row", "row"]);
    expect(summary).toMatchObject({ unknownFields: "evolve", declared: true, records: 2, fields: [{ name: "discount", records: 2, firstPosition: 1 }, { name: "channel", records: 1, firstPosition: 2 }] });
  });

  it("without a contract, records go on as before, and the new fields are reported (declared: false)", () => {
    const { outcomes, summary } = run(orders(), drifted);
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(["row", "row", "row", "row"]);
    expect(summary).toMatchObject({ unknownFields: "evolve", declared: false, records: 2 });
  });

  it("without a contract and without unknown fields, there is nothing to report; with one there is", () => {
    const clean = [{ id: "o1", amount: 1 }];
    expect(run(orders(), clean).summary).toBeNull();
    expect(run(orders({ unknownFields: "evolve" }), clean).summary).toEqual({ unknownFields: "evolve", declared: true, fields: [], truncated: false, records: 0 });
  });
});

describe("the records a contract meets", () => {
  it("CSV: the header's columns are the fields", async () => {
    const items = await collect(
      csvRecords(body("id,amount,discount\no1,10,\no2,20,5\n"), { delimiter: ",", requiredColumns: ["id"], quoteErrors: "fail", maxRecordLines: 1, maxRecordBytes: MiB, signal: never }),
    );
    const csv = orders({ unknownFields: "freeze" }, z.object({ id: z.string(), amount: z.coerce.number() }));
    const { outcomes, summary } = run(csv, records(items));
    // Every row carries the column, empty or not.
    expect(outcomes).toEqual([
      { kind: "rejected", id: "o1", reason: 'unknown field "discount" (contract: freeze)' },
      { kind: "rejected", id: "o2", reason: 'unknown field "discount" (contract: freeze)' },
    ]);
    expect(summary?.fields).toEqual([{ name: "discount", records: 2, firstPosition: 0 }]);
  });

  it("a record that is not an object passes to the schema, which refuses it; nothing is counted", () => {
    const { outcomes, summary } = run(orders({ unknownFields: "freeze" }), ["text", 12, null, ["o1", 1]]);
    expect(outcomes.every((outcome) => outcome.kind === "rejected" && !outcome.reason.includes("contract"))).toBe(true);
    expect(summary).toMatchObject({ records: 0, fields: [] });
  });

  it("only top-level fields: a nested object's keys are the schema's business", () => {
    const nested = orders({ unknownFields: "freeze" }, z.object({ id: z.string(), amount: z.number(), meta: z.object({ a: z.number() }) }));
    expect(run(nested, [{ id: "o1", amount: 1, meta: { a: 1, b: 2 } }]).outcomes).toEqual([{ kind: "row", id: "o1", values: ["o1", 1] }]);
  });

  it("lists at most MAX_UNKNOWN_FIELDS distinct fields, and says there were more", () => {
    const wide = { id: "o1", amount: 1, ...Object.fromEntries(Array.from({ length: MAX_UNKNOWN_FIELDS + 3 }, (_, index) => [`f${index}`, index])) };
    const { summary } = run(orders({ unknownFields: "discard" }), [wide]);
    expect(summary?.fields).toHaveLength(MAX_UNKNOWN_FIELDS);
    expect(summary).toMatchObject({ truncated: true, records: 1 });
  });
});

describe("the known fields", () => {
  it("are a z.object's keys, through refinements and a pipe from it; other schemas name none", () => {
    expect(knownFields(Order)).toEqual(["id", "amount", "note"]);
    expect(knownFields(Order.refine((order) => order.amount > 0))).toEqual(["id", "amount", "note"]);
    expect(knownFields(Order.transform((order) => ({ ...order, cents: order.amount * 100 })))).toEqual(["id", "amount", "note"]);
    expect(knownFields(z.unknown())).toBeNull();
    expect(knownFields(z.union([Order, z.string()]))).toBeNull();
  });

  it("a pipe from an object is checked against the object's keys", () => {
    const piped = orders({ unknownFields: "freeze" }, Order.transform((order) => order));
    expect(run(piped, [{ id: "o1", amount: 1, extra: true }]).outcomes).toEqual([{ kind: "rejected", id: "o1", reason: 'unknown field "extra" (contract: freeze)' }]);
  });

  it("without them, nothing is checked (the seed's z.unknown() pipeline runs as before)", () => {
    const contract = recordContract(orders(undefined, z.unknown()));
    const raw = { anything: 1 };
    expect(applyContract(contract, raw, 0)).toBe(raw);
  });
});

describe("checkDefinition", () => {
  it("accepts each policy on an object schema", () => {
    for (const unknownFields of ["evolve", "freeze", "discard"] as const) expect(checkDefinition(orders({ unknownFields }))).toEqual([]);
  });

  it("refuses an unknown policy, another setting, and a contract on a schema that names no fields", () => {
    expect(contractProblems({ unknownFields: "strict" }, Order)).toEqual(["contract.unknownFields must be one of evolve, freeze, discard"]);
    expect(contractProblems({ unknownFields: "freeze", columns: "freeze" }, Order)).toEqual(["contract.columns is not a contract setting (unknownFields is)"]);
    expect(contractProblems("freeze", Order)).toEqual(['contract must be an object: { unknownFields: "evolve" | "freeze" | "discard" }']);
    expect(checkDefinition(orders({ unknownFields: "freeze" }, z.unknown()))).toEqual(["contract needs a record schema that names its fields (z.object({ … }), or a pipe from one): its keys are the known fields"]);
    expect(checkDefinition(orders(undefined, z.unknown()))).toEqual([]);
  });
});

describe("mergeContractSummaries", () => {
  const shard = (fields: ContractSummary["fields"], records: number, truncated = false): ContractSummary => ({ unknownFields: "discard", declared: true, fields, truncated, records });

  it("adds the shards' counts up per field and keeps each field's earliest position, first met first", () => {
    const merged = mergeContractSummaries([
      shard([{ name: "channel", records: 2, firstPosition: 5 }], 2),
      shard(
        [
          { name: "discount", records: 1, firstPosition: 1 },
          { name: "channel", records: 1, firstPosition: 3 },
        ],
        1,
      ),
      shard([], 0),
    ]);
    expect(merged).toEqual(
      shard(
        [
          { name: "discount", records: 1, firstPosition: 1 },
          { name: "channel", records: 3, firstPosition: 3 },
        ],
        3,
      ),
    );
  });

  it("is the same whichever shard reports first, and keeps a truncation", () => {
    const a = shard([{ name: "x", records: 1, firstPosition: 0 }], 1, true);
    const b = shard([{ name: "y", records: 4, firstPosition: 9 }], 4);
    expect(mergeContractSummaries([a, b])).toEqual(mergeContractSummaries([b, a]));
    expect(mergeContractSummaries([a, b]).truncated).toBe(true);
  });

  it("lists at most MAX_UNKNOWN_FIELDS fields across shards, the earliest ones", () => {
    const many = (from: number) => shard(Array.from({ length: MAX_UNKNOWN_FIELDS }, (_, index) => ({ name: `f${from + index}`, records: 1, firstPosition: from + index })), MAX_UNKNOWN_FIELDS);
    const merged = mergeContractSummaries([many(100), many(0)]);
    expect(merged.fields).toHaveLength(MAX_UNKNOWN_FIELDS);
    expect(merged.fields[0]).toEqual({ name: "f0", records: 1, firstPosition: 0 });
    expect(merged.truncated).toBe(true);
  });

  it("a summary is JSON: it survives the trip between agents unchanged", () => {
    const { summary } = run(orders({ unknownFields: "evolve" }), drifted);
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
  });
});
