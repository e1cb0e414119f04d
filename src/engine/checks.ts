import { parseInterval } from "../domain/schedule";
import type { CheckSeverity, CheckType, ColumnAggregate } from "../domain/check-results";
import type { Columns } from "./columns";

/**
 * Dataset checks: tests of a run's transformed batch as a whole, declared with the pipeline (`checks`)
 * and run between transform and load, over the rows staged for loading. A failed `error` check stops the
 * run before anything is written; a failed `warn` check loads and alerts. The kinds follow dbt's tests
 * (unique, not_null, accepted_values, relationships) and Dagster's blocking asset checks, plus the batch
 * figures neither sees before the write: row counts against the usual, the reject rate, freshness.
 */

type Column<C extends Columns> = keyof C & string;
type ColumnList<C extends Columns> = readonly [Column<C>, ...Column<C>[]];

interface CheckCommon {
  /** How results, alerts and `acceptChecks` name it (default: made from its type and columns). */
  name?: string;
  /** `error` (default) blocks the load; `warn` loads and alerts. */
  severity?: CheckSeverity;
}

/** The batch's rows: absolute bounds, and bounds relative to the median of the last successful runs. */
export interface RowCountCheck extends CheckCommon {
  type: "row_count";
  min?: number;
  max?: number;
  /** `{ atLeast: 0.5 }`: at least half the usual count; usual = the median of the last `runs` (default 7) successful runs. */
  usual?: { atLeast?: number; atMost?: number; runs?: number };
}

/** Records rejected so far (by extract and transform) out of the records extracted, at most `max` (0–1). */
export interface RejectRateCheck extends CheckCommon {
  type: "reject_rate";
  max: number;
}

/**
 * No two rows of the batch share these columns' values; for a D1 destination whose key they are not,
 * neither does a row of the table under another key. Rows with a null among them are not compared.
 */
export interface UniqueCheck<C extends Columns> extends CheckCommon {
  type: "unique";
  columns: ColumnList<C>;
}

export interface NotNullCheck<C extends Columns> extends CheckCommon {
  type: "not_null";
  columns: ColumnList<C>;
}

/** Every non-null value of the column is one of `values`. */
export interface AcceptedValuesCheck<C extends Columns> extends CheckCommon {
  type: "accepted_values";
  column: Column<C>;
  values: readonly (string | number | boolean)[];
}

/**
 * Every row's values of `columns` (rows with a null among them are not checked, as in dbt) are present
 * in another table's `to.columns`: a D1 table by name, or another pipeline's destination. When the
 * target is this pipeline's own destination, the batch's own rows count as present too.
 */
export interface RelationshipCheck<C extends Columns> extends CheckCommon {
  type: "relationship";
  columns: ColumnList<C>;
  to: { table: string; columns: readonly [string, ...string[]] } | { pipeline: string; columns: readonly [string, ...string[]] };
}

/** The newest value of a time column is at least the run's slot minus `lag` ("2h", "3d"). */
export interface FreshnessCheck<C extends Columns> extends CheckCommon {
  type: "freshness";
  column: Column<C>;
  lag: string;
}

/** What a custom check is given: figures the engine computed over the whole batch, never the rows themselves. */
export interface BatchAggregates<C extends Columns = Columns> {
  /** Rows staged for loading. */
  rows: number;
  extracted: number;
  /** Rejected so far (extract and transform). */
  rejected: number;
  skipped: number;
  /** Per column: nulls, the smallest and largest value, and the sum of numeric values (null when none). */
  columns: { [K in keyof C]: ColumnAggregate };
  /** The run's slot (epoch ms), or when it was triggered. */
  asOf: number;
}

export interface CustomVerdict {
  ok: boolean;
  /** What was expected, in words ("net revenue ≥ 0"). */
  expected: string;
  /** What was found ("-1520 cents"). */
  found: string;
}

export interface CustomCheck<C extends Columns> extends CheckCommon {
  type: "custom";
  name: string;
  test: (aggregates: BatchAggregates<C>) => CustomVerdict;
}

export type CheckDefinition<C extends Columns = Columns> =
  | RowCountCheck
  | RejectRateCheck
  | UniqueCheck<C>
  | NotNullCheck<C>
  | AcceptedValuesCheck<C>
  | RelationshipCheck<C>
  | FreshnessCheck<C>
  | CustomCheck<C>;

/** A check as the engine holds it: its name and severity settled. */
export type ResolvedCheck = CheckDefinition & { name: string; severity: CheckSeverity };

export const CHECK_TYPES = ["row_count", "reject_rate", "unique", "not_null", "accepted_values", "relationship", "freshness", "custom"] as const satisfies readonly CheckType[];

/** Checks that meet rows of several shards by value: their keys go through a partitioned pass. */
export const PARTITIONED_CHECKS = ["unique", "relationship"] as const satisfies readonly CheckType[];

export const DEFAULT_USUAL_RUNS = 7;

export function isPartitioned(check: CheckDefinition): check is UniqueCheck<Columns> | RelationshipCheck<Columns> {
  return (PARTITIONED_CHECKS as readonly string[]).includes(check.type);
}

/** `unique(store_id,order_day)`, `accepted_values(currency)`, `row_count`: the name a check gets unless it has one. */
export function defaultCheckName(check: CheckDefinition): string {
  switch (check.type) {
    case "row_count":
    case "reject_rate":
      return check.type;
    case "unique":
    case "not_null":
      return `${check.type}(${check.columns.join(",")})`;
    case "accepted_values":
    case "freshness":
      return `${check.type}(${check.column})`;
    case "relationship": {
      const target = "table" in check.to ? check.to.table : check.to.pipeline;
      return `relationship(${check.columns.join(",")}->${target}.${check.to.columns.join(",")})`;
    }
    case "custom":
      return check.name;
  }
}

export function resolveChecks(checks: readonly CheckDefinition[] | undefined): ResolvedCheck[] {
  return (checks ?? []).map((check) => ({ ...check, name: check.name ?? defaultCheckName(check), severity: check.severity ?? "error" }) as ResolvedCheck);
}

/** How far behind the slot a freshness check lets the newest value be, in ms. */
export function freshnessLagMs(check: FreshnessCheck<Columns>): number | null {
  return parseInterval(check.lag);
}

/** Which other pipelines a definition's checks read (relationships to their destinations). */
export function checkedPipelines(checks: readonly CheckDefinition[] | undefined): string[] {
  return [...new Set((checks ?? []).flatMap((check) => (check.type === "relationship" && "pipeline" in check.to ? [check.to.pipeline] : [])))];
}

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CHECK_NAME = /^[A-Za-z0-9_(),.>\-]{1,120}$/;

/** What is wrong with a pipeline's checks, as the deployment reports it (each problem names the check). */
export function checkProblems(checks: readonly CheckDefinition[] | undefined, columns: Columns): string[] {
  if (checks === undefined) return [];
  if (!Array.isArray(checks)) return ["checks must be a list"];
  const problems: string[] = [];
  const names = new Set<string>();
  const known = new Set(Object.keys(columns));
  const columnProblem = (where: string, column: unknown) => (typeof column === "string" && known.has(column) ? [] : [`${where} names ${JSON.stringify(column)}, which is not a destination column`]);
  for (const [index, check] of checks.entries()) {
    const at = `checks[${index}]`;
    if (typeof check !== "object" || check === null || !(CHECK_TYPES as readonly string[]).includes((check as { type?: string }).type ?? "")) {
      problems.push(`${at}: type must be one of ${CHECK_TYPES.join(", ")}`);
      continue;
    }
    const name = check.name ?? defaultCheckName(check);
    const label = `${at} (${name})`;
    if (!CHECK_NAME.test(name)) problems.push(`${label}: a check name is letters, digits and _ ( ) , . - > (at most 120)`);
    if (names.has(name)) problems.push(`${label}: two checks are named ${name}; give one a name`);
    names.add(name);
    if (check.severity !== undefined && check.severity !== "warn" && check.severity !== "error") problems.push(`${label}: severity must be "warn" or "error"`);
    switch (check.type) {
      case "row_count": {
        const bounds = [check.min, check.max, check.usual?.atLeast, check.usual?.atMost];
        if (bounds.every((bound) => bound === undefined)) problems.push(`${label}: give min, max or usual ({ atLeast, atMost })`);
        if (bounds.some((bound) => bound !== undefined && !(typeof bound === "number" && Number.isFinite(bound) && bound >= 0))) problems.push(`${label}: bounds are numbers ≥ 0`);
        if (check.min !== undefined && check.max !== undefined && check.min > check.max) problems.push(`${label}: min is above max`);
        const runs = check.usual?.runs;
        if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1 && runs <= 100)) problems.push(`${label}: usual.runs is a whole number from 1 to 100`);
        break;
      }
      case "reject_rate":
        if (!(typeof check.max === "number" && check.max >= 0 && check.max <= 1)) problems.push(`${label}: max is a fraction from 0 to 1 (0.05 for 5 %)`);
        break;
      case "unique":
      case "not_null":
        if (!Array.isArray(check.columns) || check.columns.length === 0) problems.push(`${label}: columns lists at least one column`);
        else for (const column of check.columns) problems.push(...columnProblem(label, column));
        break;
      case "accepted_values":
        problems.push(...columnProblem(label, check.column));
        if (!Array.isArray(check.values) || check.values.length === 0) problems.push(`${label}: values lists at least one value`);
        break;
      case "relationship": {
        if (!Array.isArray(check.columns) || check.columns.length === 0) problems.push(`${label}: columns lists at least one column`);
        else for (const column of check.columns) problems.push(...columnProblem(label, column));
        const to = check.to as { table?: unknown; pipeline?: unknown; columns?: unknown } | undefined;
        if (!to || (typeof to.table === "string") === (typeof to.pipeline === "string")) problems.push(`${label}: to names a table or a pipeline (one of them)`);
        else if (typeof to.table === "string" && !PLAIN_NAME.test(to.table)) problems.push(`${label}: to.table is not a plain SQL name`);
        if (!Array.isArray(to?.columns) || to.columns.length !== (check.columns?.length ?? 0)) problems.push(`${label}: to.columns lists as many columns as columns`);
        else for (const column of to.columns) if (typeof column !== "string" || !PLAIN_NAME.test(column)) problems.push(`${label}: to.columns ${JSON.stringify(column)} is not a plain SQL name`);
        break;
      }
      case "freshness":
        problems.push(...columnProblem(label, check.column));
        if (typeof check.lag !== "string" || parseInterval(check.lag) === null) problems.push(`${label}: lag is a duration like "2h" or "3d"`);
        break;
      case "custom":
        if (typeof check.name !== "string") problems.push(`${at}: a custom check needs a name`);
        if (typeof check.test !== "function") problems.push(`${label}: test is a function of the batch's aggregates`);
        break;
    }
  }
  return problems;
}
