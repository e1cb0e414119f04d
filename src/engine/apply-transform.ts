import { destinationKindOf } from "../destinations";
import type { z } from "zod";
import { columnProblem, storedValue } from "./columns";
import { applyContract, ContractBreach, recordContract, type ContractTally } from "./contract";
import type { Pipeline, TransformContext } from "./define-pipeline";
import { isRejected, isSkipped } from "./outcomes";
import type { DestinationSettings } from "./settings";

/**
 * One raw record through a pipeline: its record schema, then its transform, then a check of the row
 * against the destination's columns. Every record ends as a row, a rejection with a reason, or a skip.
 */
export type TransformOutcome =
  | { kind: "row"; id: string; values: unknown[] }
  | { kind: "rejected"; id: string | null; reason: string }
  | { kind: "skipped" };

/** The transform itself threw: a bug in the pipeline, which fails the stage rather than every record. */
export class TransformCrashed extends Error {
  override readonly name = "TransformCrashed";
}

/**
 * The pipeline's contract is applied first (src/engine/contract.ts): with `tally`, made once per stage
 * (ContractTally.of), the unknown fields a record carries are counted at `position`; without it the
 * contract still decides (rejects, drops) but nothing is counted.
 */
export function applyTransform(pipeline: Pipeline, destination: DestinationSettings, raw: unknown, context: TransformContext<unknown>, tally?: ContractTally, position = 0): TransformOutcome {
  const contracted = applyContract(tally?.contract ?? recordContract(pipeline), raw, position, tally);
  if (contracted instanceof ContractBreach) return { kind: "rejected", id: recordIdOf(pipeline, destination, raw, context.config), reason: contracted.reason };
  const checked = pipeline.record.safeParse(contracted);
  if (!checked.success) return { kind: "rejected", id: recordIdOf(pipeline, destination, raw, context.config), reason: describeIssues(checked.error) };
  let result: unknown;
  try {
    result = pipeline.transform(checked.data, context);
  } catch (error) {
    throw new TransformCrashed(`the transform of pipeline ${pipeline.name} threw: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (isSkipped(result)) return { kind: "skipped" };
  if (isRejected(result)) return { kind: "rejected", id: result.id === undefined ? recordIdOf(pipeline, destination, raw, context.config) : result.id, reason: result.reason };
  if (typeof result !== "object" || result === null) {
    return { kind: "rejected", id: recordIdOf(pipeline, destination, raw, context.config), reason: `the transform returned ${result === null ? "null" : typeof result}, not a row` };
  }
  const row = result as Record<string, unknown>;
  const values: unknown[] = [];
  for (const column of destination.columns) {
    const value = row[column.name] ?? null;
    const problem = columnProblem(column, value);
    if (problem) return { kind: "rejected", id: recordIdOf(pipeline, destination, raw, context.config), reason: `the transform's row does not fit ${destinationKindOf(destination).label(destination)}: ${problem}` };
    values.push(storedValue(column, value));
  }
  const id = pipeline.recordId ? (recordIdOf(pipeline, destination, raw, context.config) ?? keyOf(destination, values).join("/")) : keyOf(destination, values).join("/");
  return { kind: "row", id, values };
}

/** The key columns' values of a row, in key order. */
export function keyOf(destination: DestinationSettings, values: readonly unknown[]): unknown[] {
  return destination.key.map((name) => values[destination.columns.findIndex((column) => column.name === name)]);
}

/**
 * How a record is named in rejections and duplicate reports: the pipeline's `recordId`, or by default its
 * key values joined by "/", read from the raw record when it has a field named like every key column (a
 * row that was made has its key values, so its name is always them).
 */
function recordIdOf(pipeline: Pipeline, destination: DestinationSettings, raw: unknown, config: unknown): string | null {
  if (pipeline.recordId) {
    try {
      return pipeline.recordId(raw, config);
    } catch {
      return null;
    }
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const values = destination.key.map((name) => (Object.hasOwn(raw, name) ? (raw as Record<string, unknown>)[name] : undefined));
  if (!values.every((value) => (typeof value === "string" && value !== "") || (typeof value === "number" && Number.isFinite(value)))) return null;
  return values.join("/");
}

/** zod's issues as one reason that names each field: `amount: must be an amount…; currency: Required`. */
export function describeIssues(error: z.ZodError): string {
  const parts = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : "";
  return `${parts.join("; ")}${more}`.slice(0, 1_000);
}
