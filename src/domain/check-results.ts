/**
 * What a run's dataset checks found, as the run keeps it: one result per check, whether the load was
 * blocked, and which failures a person accepted on a retry. Pure data and rules; the checks themselves
 * are declared in src/engine/checks.ts.
 */

export const CHECK_SEVERITIES = ["warn", "error"] as const;
export type CheckSeverity = (typeof CHECK_SEVERITIES)[number];

export type CheckType = "row_count" | "reject_rate" | "unique" | "not_null" | "accepted_values" | "relationship" | "freshness" | "custom";

export const CHECK_OUTCOMES = ["passed", "failed", "skipped"] as const;
/** `skipped`: the check had nothing to judge (a relative row count before any run succeeded). */
export type CheckOutcome = (typeof CHECK_OUTCOMES)[number];

/** At most this many offending records are kept on a result; `offending` counts them all. */
export const MAX_OFFENDING_SAMPLE = 10;

/** A record a check found wrong: where it was in the run's input, its name, and the values judged. */
export interface OffendingRecord {
  position: number;
  id: string;
  values: Record<string, ColumnScalar>;
}

/** A column's value as checks see and report it. */
export type ColumnScalar = string | number | boolean | null;

export interface CheckResult {
  name: string;
  type: CheckType;
  severity: CheckSeverity;
  outcome: CheckOutcome;
  /** In words: "at least 50 % of the usual 12000 rows (≥ 6000)". */
  expected: string;
  /** In words: "12 rows". */
  found: string;
  /** How many rows offend (for the checks that look at rows), else null. */
  offending: number | null;
  sample: OffendingRecord[];
  /** Set when a failure was accepted on a retry (`acceptChecks`): who and when. */
  accepted?: CheckAcceptance;
}

export interface CheckAcceptance {
  /** The label of the API token that accepted it, or null for an unlabelled token. */
  by: string | null;
  at: number;
  /** The run whose retry accepted it. */
  retryOf: string;
}

export interface CheckReport {
  evaluatedAt: number;
  results: CheckResult[];
  /** Whether an `error` check failed and was not accepted: the load did not run. */
  blocked: boolean;
}

/** A retry's request to load despite named failed checks. */
export interface AcceptedChecks {
  names: string[];
  by: string | null;
  at: number;
  retryOf: string;
}

/** The failed checks that stop the load: severity error, not accepted. */
export function blockingResults(results: readonly CheckResult[]): CheckResult[] {
  return results.filter((result) => result.outcome === "failed" && result.severity === "error" && result.accepted === undefined);
}

/** Failed warn checks (and accepted error checks): loaded, alerted. */
export function warningResults(results: readonly CheckResult[]): CheckResult[] {
  return results.filter((result) => result.outcome === "failed" && (result.severity === "warn" || result.accepted !== undefined));
}

/** Marks the failures a retry accepted; names that match no failed check are ignored here (the API refuses them). */
export function withAcceptance(results: readonly CheckResult[], accepted: AcceptedChecks | undefined): CheckResult[] {
  if (!accepted) return [...results];
  return results.map((result) =>
    result.outcome === "failed" && accepted.names.includes(result.name) ? { ...result, accepted: { by: accepted.by, at: accepted.at, retryOf: accepted.retryOf } } : result,
  );
}

export function checkReport(results: readonly CheckResult[], evaluatedAt: number): CheckReport {
  return { evaluatedAt, results: [...results], blocked: blockingResults(results).length > 0 };
}

/** One line per failed check, for the run's error and alerts: `row_count: expected ≥ 6000 rows, found 12 rows`. */
export function describeFailures(results: readonly CheckResult[]): string {
  return results.map((result) => `${result.name}: expected ${result.expected}, found ${result.found}`).join("; ");
}

/** The median of some counts (the usual size of a batch), or null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** What a batch's rows showed of one column: nulls, the smallest and largest value, the sum of numbers (null when none). */
export interface ColumnAggregate {
  nulls: number;
  min: string | number | boolean | null;
  max: string | number | boolean | null;
  sum: number | null;
}

/** What is known of a check's offending rows: how many, and the first few by position. */
export interface CheckFinding {
  offending: number;
  sample: OffendingRecord[];
}

export interface CheckTallyState {
  rows: number;
  columns: Record<string, ColumnAggregate>;
  /** By check name, for the checks that look at rows. */
  found: Record<string, CheckFinding>;
}

export function emptyFinding(): CheckFinding {
  return { offending: 0, sample: [] };
}

export function addOffending(finding: CheckFinding, record: OffendingRecord): void {
  finding.offending += 1;
  if (finding.sample.length < MAX_OFFENDING_SAMPLE) finding.sample.push(record);
}

/** Several shards' (or partitions') tallies as one: counts add, extremes combine, samples keep the first by position. */
export function mergeTallies(states: readonly CheckTallyState[]): CheckTallyState {
  const merged: CheckTallyState = { rows: 0, columns: {}, found: {} };
  for (const state of states) {
    merged.rows += state.rows;
    for (const [name, column] of Object.entries(state.columns)) {
      const into = (merged.columns[name] ??= { nulls: 0, min: null, max: null, sum: null });
      into.nulls += column.nulls;
      if (column.min !== null && (into.min === null || column.min < into.min)) into.min = column.min;
      if (column.max !== null && (into.max === null || column.max > into.max)) into.max = column.max;
      if (column.sum !== null) into.sum = (into.sum ?? 0) + column.sum;
    }
    for (const [name, finding] of Object.entries(state.found)) merged.found[name] = mergeFindings(merged.found[name] ?? emptyFinding(), finding);
  }
  return merged;
}

export function mergeFindings(a: CheckFinding, b: CheckFinding): CheckFinding {
  return {
    offending: a.offending + b.offending,
    sample: [...a.sample, ...b.sample].sort((x, y) => x.position - y.position).slice(0, MAX_OFFENDING_SAMPLE),
  };
}
