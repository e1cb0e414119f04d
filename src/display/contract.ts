/**
 * A run's contract summary in one line, the same in the CLI's `status` and the dashboard's run card:
 * which fields the record schema does not know the records carried, and what the contract did.
 */
import type { ContractSummary } from "../domain/contract-summary";
import { count } from "./format";

/** Fields named in the line; the rest are counted. */
const LISTED = 5;

/**
 * `new fields: discount (3 records, first at position 2)`, `discarded fields: …`, `rejected 3 records
 * for unknown fields (freeze): …`; null when no record carried an unknown field.
 */
export function contractLine(contract: ContractSummary | undefined): string | null {
  if (!contract || contract.fields.length === 0) return null;
  const fields = contract.fields.slice(0, LISTED).map((field) => `${field.name} (${count(field.records)} record${field.records === 1 ? "" : "s"}, first at position ${field.firstPosition})`);
  const hidden = contract.fields.length - LISTED;
  const more = contract.truncated ? " and more" : hidden > 0 ? ` and ${count(hidden)} more` : "";
  const listed = `${fields.join(", ")}${more}`;
  switch (contract.unknownFields) {
    case "evolve":
      return `new fields${contract.declared ? " (contract: evolve)" : ""}: ${listed}`;
    case "discard":
      return `discarded fields (contract: discard): ${listed}`;
    case "freeze":
      return `rejected ${count(contract.records)} record${contract.records === 1 ? "" : "s"} for unknown fields (contract: freeze): ${listed}`;
  }
}
