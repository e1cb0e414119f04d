/**
 * What a run saw of fields its record schema does not know, and what its contract did about them: pure
 * data, mergeable across the shards of one stage. The policy itself (which record a field rejects, what
 * is dropped) is src/engine/contract.ts.
 */

/**
 * What a record carrying a top-level field the record schema does not know does: `evolve` goes on as it
 * is (reported once per run), `freeze` is rejected naming the field, `discard` goes on without the field.
 */
export const UNKNOWN_FIELD_POLICIES = ["evolve", "freeze", "discard"] as const;
export type UnknownFieldPolicy = (typeof UNKNOWN_FIELD_POLICIES)[number];

/** At most this many distinct unknown fields are listed on a run (`truncated` says there were more). */
export const MAX_UNKNOWN_FIELDS = 50;

/** One field the record schema does not know, as the run met it. */
export interface UnknownField {
  name: string;
  /** How many records carried it. */
  records: number;
  /** The position (in the run's input) of the first record that carried it. */
  firstPosition: number;
}

export interface ContractSummary {
  /** The policy the run applied: the pipeline's `contract.unknownFields`, or `evolve` when it declares none. */
  unknownFields: UnknownFieldPolicy;
  /** Whether the pipeline declared a contract (false: the default, which reports and goes on). */
  declared: boolean;
  /** The unknown fields met, first met first (at most MAX_UNKNOWN_FIELDS). */
  fields: UnknownField[];
  /** More distinct unknown fields were met than `fields` lists. */
  truncated: boolean;
  /** Records that carried at least one unknown field (with `freeze`, each was rejected for it). */
  records: number;
}

/** Several shards' summaries of one run as one: counts add up, a field's first position is the earliest. */
export function mergeContractSummaries(parts: readonly ContractSummary[]): ContractSummary {
  const first = parts[0];
  if (!first) throw new Error("mergeContractSummaries needs at least one summary");
  const byName = new Map<string, UnknownField>();
  for (const part of parts) {
    for (const field of part.fields) {
      const seen = byName.get(field.name);
      byName.set(field.name, seen ? { name: field.name, records: seen.records + field.records, firstPosition: Math.min(seen.firstPosition, field.firstPosition) } : { ...field });
    }
  }
  const fields = [...byName.values()].sort((a, b) => a.firstPosition - b.firstPosition || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    unknownFields: first.unknownFields,
    declared: first.declared,
    fields: fields.slice(0, MAX_UNKNOWN_FIELDS),
    truncated: fields.length > MAX_UNKNOWN_FIELDS || parts.some((part) => part.truncated),
    records: parts.reduce((sum, part) => sum + part.records, 0),
  };
}
