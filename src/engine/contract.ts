import type { z } from "zod";
import { MAX_UNKNOWN_FIELDS, UNKNOWN_FIELD_POLICIES, type ContractSummary, type UnknownField, type UnknownFieldPolicy } from "../domain/contract-summary";
import type { Pipeline } from "./define-pipeline";

/**
 * A pipeline's contract for drift (as dlt's schema contracts): what a raw record carrying a top-level
 * field the record schema does not know does. The known fields are the record schema's keys (a
 * `z.object`, or a pipe from one: `z.object({…}).transform(…)`), found once per pipeline; the check of a
 * record is one loop over its own keys. Pure: no I/O, no Cloudflare imports.
 */

/** `contract` in a pipeline's definition. */
export interface ContractDefinition {
  /** What a record carrying a field the record schema does not know does (default: `evolve`). */
  unknownFields: UnknownFieldPolicy;
}

/** A pipeline's contract as a stage applies it. */
export interface RecordContract {
  readonly unknownFields: UnknownFieldPolicy;
  readonly declared: boolean;
  /** The record schema's top-level fields; null when it names none (not a z.object): nothing is checked. */
  readonly known: ReadonlySet<string> | null;
}

/** A record the contract refuses, and why (`unknown field "discount" (contract: freeze)`). */
export class ContractBreach {
  constructor(readonly reason: string) {}
}

/** Longer unknown field names are cut in the run's summary (a hostile source could send any key). */
const MAX_FIELD_NAME = 200;
/** A rejection's reason names at most this many unknown fields. */
const NAMED_IN_REASON = 5;

/**
 * The top-level fields a record schema knows: a z.object's keys (whatever its refinements), or those of
 * the object a pipe starts from (`z.object({…}).transform(…)`); null for any other schema.
 */
export function knownFields(schema: z.ZodType): string[] | null {
  let current: unknown = schema;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth += 1) {
    const shape = (current as { shape?: unknown }).shape;
    if (typeof shape === "object" && shape !== null) return Object.keys(shape);
    const def = (current as { _zod?: { def?: { type?: string; in?: unknown } } })._zod?.def;
    if (def?.type !== "pipe") return null;
    current = def.in;
  }
  return null;
}

const contracts = new WeakMap<Pipeline, RecordContract>();

/** The pipeline's contract, its known fields found once (and kept for the pipeline object). */
export function recordContract(pipeline: Pipeline): RecordContract {
  const cached = contracts.get(pipeline);
  if (cached) return cached;
  const fields = knownFields(pipeline.record);
  const contract: RecordContract = {
    unknownFields: pipeline.contract?.unknownFields ?? "evolve",
    declared: pipeline.contract !== undefined,
    known: fields === null ? null : new Set(fields),
  };
  contracts.set(pipeline, contract);
  return contract;
}

/**
 * One raw record through the contract: the record to check against the record schema (the raw record
 * itself, or with `discard` a copy without the unknown fields), or a ContractBreach (`freeze`). The
 * unknown fields met are noted in `tally` at `position`. A record that is not an object (the schema will
 * say what is wrong with it) and a schema that names no fields pass as they are.
 */
export function applyContract(contract: RecordContract, raw: unknown, position: number, tally?: ContractTally): unknown {
  const known = contract.known;
  if (known === null || typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  let unknown: string[] | null = null;
  // Raw records are parsed JSON (plain objects): `for…in` walks their own keys without building an array.
  for (const key in raw) if (!known.has(key)) (unknown ??= []).push(key);
  if (unknown === null) return raw;
  tally?.note(unknown, position);
  switch (contract.unknownFields) {
    case "evolve":
      return raw;
    case "discard": {
      const kept: Record<string, unknown> = {};
      for (const key in raw) if (known.has(key)) kept[key] = (raw as Record<string, unknown>)[key];
      return kept;
    }
    case "freeze":
      return new ContractBreach(breachReason(unknown));
  }
}

/** `unknown field "discount" (contract: freeze)`, `unknown fields "a", "b" and 4 more (contract: freeze)`. */
function breachReason(fields: readonly string[]): string {
  const named = fields.slice(0, NAMED_IN_REASON).map((field) => JSON.stringify(cut(field)));
  const more = fields.length > NAMED_IN_REASON ? ` and ${fields.length - NAMED_IN_REASON} more` : "";
  return `unknown field${fields.length === 1 ? "" : "s"} ${named.join(", ")}${more} (contract: freeze)`.slice(0, 1_000);
}

function cut(name: string): string {
  return name.length > MAX_FIELD_NAME ? `${name.slice(0, MAX_FIELD_NAME)}…` : name;
}

/**
 * What one stage (one shard of it) met of unknown fields, as records go through the contract: per field
 * how many records carried it and where first. Its summary is JSON and merges with other shards'
 * (mergeContractSummaries).
 */
export class ContractTally {
  private readonly fields = new Map<string, UnknownField>();
  private truncated = false;
  private records = 0;

  constructor(readonly contract: RecordContract) {}

  /** The tally for a pipeline's contract. */
  static of(pipeline: Pipeline): ContractTally {
    return new ContractTally(recordContract(pipeline));
  }

  /** A record at `position` carried these unknown fields (each once). */
  note(unknown: readonly string[], position: number): void {
    this.records += 1;
    for (const name of unknown) {
      const key = cut(name);
      const seen = this.fields.get(key);
      if (seen) {
        seen.records += 1;
        if (position < seen.firstPosition) seen.firstPosition = position;
      } else if (this.fields.size < MAX_UNKNOWN_FIELDS) this.fields.set(key, { name: key, records: 1, firstPosition: position });
      else this.truncated = true;
    }
  }

  /** What was met, as the run keeps it; null for a pipeline without a contract that met no unknown field. */
  summary(): ContractSummary | null {
    if (!this.contract.declared && this.records === 0) return null;
    return {
      unknownFields: this.contract.unknownFields,
      declared: this.contract.declared,
      fields: [...this.fields.values()].map((field) => ({ ...field })).sort((a, b) => a.firstPosition - b.firstPosition),
      truncated: this.truncated,
      records: this.records,
    };
  }
}

/** What is wrong with a pipeline's `contract` (checked when the deployment loads). */
export function contractProblems(contract: unknown, record: z.ZodType): string[] {
  if (contract === undefined) return [];
  if (typeof contract !== "object" || contract === null || Array.isArray(contract)) return ["contract must be an object: { unknownFields: \"evolve\" | \"freeze\" | \"discard\" }"];
  const problems: string[] = [];
  const { unknownFields, ...rest } = contract as { unknownFields?: unknown };
  if (!(UNKNOWN_FIELD_POLICIES as readonly unknown[]).includes(unknownFields)) problems.push(`contract.unknownFields must be one of ${UNKNOWN_FIELD_POLICIES.join(", ")}`);
  for (const key of Object.keys(rest)) problems.push(`contract.${key} is not a contract setting (unknownFields is)`);
  if (knownFields(record) === null) problems.push("contract needs a record schema that names its fields (z.object({ … }), or a pipe from one): its keys are the known fields");
  return problems;
}
