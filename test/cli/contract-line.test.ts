/**
 * The line the CLI's `status` and the dashboard's run card show for a run's contract summary: what the
 * contract did with which fields; nothing when no record carried an unknown field.
 */
import { describe, expect, it } from "vitest";
import type { ContractSummary } from "../../src/domain/contract-summary";
import { contractLine } from "../../src/display/contract";

const summary = (changes: Partial<ContractSummary>): ContractSummary => ({
  unknownFields: "evolve",
  declared: true,
  fields: [
    { name: "discount", records: 1200, firstPosition: 2 },
    { name: "channel", records: 1, firstPosition: 7 },
  ],
  truncated: false,
  records: 1200,
  ...changes,
});

describe("contractLine", () => {
  it("names each field with how many records carried it and where first, by what the contract did", () => {
    expect(contractLine(summary({}))).toBe("new fields (contract: evolve): discount (1,200 records, first at position 2), channel (1 record, first at position 7)");
    expect(contractLine(summary({ declared: false }))).toMatch(/^new fields: discount/);
    expect(contractLine(summary({ unknownFields: "discard" }))).toMatch(/^discarded fields \(contract: discard\): discount/);
    expect(contractLine(summary({ unknownFields: "freeze" }))).toMatch(/^rejected 1,200 records for unknown fields \(contract: freeze\): discount/);
  });

  it("lists five fields and counts the rest", () => {
    const fields = Array.from({ length: 7 }, (_, index) => ({ name: `f${index}`, records: 1, firstPosition: index }));
    expect(contractLine(summary({ fields }))).toMatch(/f4 \(1 record, first at position 4\) and 2 more$/);
    expect(contractLine(summary({ fields, truncated: true }))).toMatch(/ and more$/);
  });

  it("says nothing without unknown fields", () => {
    expect(contractLine(undefined)).toBeNull();
    expect(contractLine(summary({ fields: [], records: 0 }))).toBeNull();
  });
});
