import { addOffending, emptyFinding, type CheckTallyState, type ColumnScalar, type ColumnAggregate } from "../domain/check-results";
import { bucketOf } from "../domain/shards";
import type { ColumnSettings } from "./columns";
import type { ResolvedCheck } from "./checks";
import { isPartitioned } from "./checks";

/**
 * What a transform shard learns about its rows for the dataset checks, one row at a time and in memory
 * bounded by the checks, not the batch: per-column aggregates, the rows that break a row-local check
 * (not_null, accepted_values), and for the checks that compare rows by value (unique, relationship) a
 * key per row, spread over partitions by a hash of the value so that equal values meet in one partition
 * however many shards found them (see check-pass.ts). Several shards' tallies merge into one.
 */

/**
 * A row's key for a partitioned check: `[check index, role, values as JSON, position, id, upsert key as JSON]`.
 * Role 0 is a value to judge (unique: an occurrence; relationship: a reference), role 1 a value the batch
 * itself provides to a relationship whose target is the pipeline's own destination.
 */
export type CheckKey = [check: number, role: 0 | 1, value: string, position: number, id: string, key: string];

export const ROLE_VALUE = 0;
export const ROLE_PROVIDES = 1;

/** A value as it is compared with a table's: booleans as D1 stores them. */
function comparable(value: unknown): unknown {
  return typeof value === "boolean" ? (value ? 1 : 0) : value;
}

export function valueKey(values: readonly unknown[]): string {
  return JSON.stringify(values.map(comparable));
}

/** Which partition a check key goes to: equal values of one check always meet. */
export function partitionOf(check: number, value: string, partitions: number): number {
  return bucketOf(`${check}|${value}`, partitions);
}

export class CheckTally {
  private readonly state: CheckTallyState;
  private readonly indexes: Map<string, number>;
  private readonly rowChecks: { name: string; test: (values: readonly unknown[]) => boolean; columns: number[] }[] = [];
  private readonly keyed: { check: number; role: 0 | 1; columns: number[] }[] = [];
  private readonly keyColumns: number[];
  private readonly pending: CheckKey[][];

  /**
   * @param ownTable the destination's place as relationships name it (`{ table }` or `{ pipeline }`), so a
   *   relationship to it is also served by the batch's own rows.
   */
  constructor(
    readonly checks: readonly ResolvedCheck[],
    private readonly columns: readonly ColumnSettings[],
    key: readonly string[],
    private readonly partitions: number,
    own: { pipeline: string; table: string | null },
  ) {
    this.indexes = new Map(columns.map((column, index) => [column.name, index]));
    const at = (name: string) => this.indexes.get(name) ?? -1;
    this.keyColumns = key.map(at);
    this.state = { rows: 0, columns: Object.fromEntries(columns.map((column) => [column.name, { nulls: 0, min: null, max: null, sum: null }])), found: {} };
    this.pending = Array.from({ length: partitions }, () => []);
    for (const [index, check] of checks.entries()) {
      if (check.type === "not_null") {
        const positions = check.columns.map(at);
        this.rowChecks.push({ name: check.name, columns: positions, test: (values) => positions.every((column) => values[column] !== null && values[column] !== undefined) });
      } else if (check.type === "accepted_values") {
        const column = at(check.column);
        const accepted = new Set<unknown>(check.values);
        this.rowChecks.push({ name: check.name, columns: [column], test: (values) => values[column] === null || accepted.has(values[column]) });
      } else if (isPartitioned(check)) {
        this.keyed.push({ check: index, role: ROLE_VALUE, columns: check.columns.map(at) });
        if (check.type === "relationship") {
          const target = "table" in check.to ? check.to.table === own.table : check.to.pipeline === own.pipeline;
          if (target) this.keyed.push({ check: index, role: ROLE_PROVIDES, columns: check.to.columns.map(at) });
        }
      }
      if (check.type !== "row_count" && check.type !== "reject_rate" && check.type !== "freshness" && check.type !== "custom") this.state.found[check.name] = emptyFinding();
    }
  }

  /** One row the transform made: `values` in column order. */
  row(position: number, id: string, values: readonly unknown[]): void {
    this.state.rows += 1;
    for (let index = 0; index < this.columns.length; index += 1) aggregate(this.state.columns[this.columns[index]!.name]!, values[index]);
    for (const check of this.rowChecks) {
      if (check.test(values)) continue;
      addOffending(this.state.found[check.name]!, { position, id, values: pick(this.columns, check.columns, values) });
    }
    if (this.keyed.length === 0) return;
    let rowKey: string | null = null;
    for (const keyed of this.keyed) {
      const judged = keyed.columns.map((column) => values[column]);
      // As in SQL (and dbt), a null is neither equal to anything nor a reference to check.
      if (judged.some((value) => value === null || value === undefined)) continue;
      rowKey ??= valueKey(this.keyColumns.map((column) => values[column]));
      const value = valueKey(judged);
      this.pending[partitionOf(keyed.check, value, this.partitions)]!.push([keyed.check, keyed.role, value, position, id, rowKey]);
    }
  }

  /** Whether some check compares rows by value (the stage then stages keys and a partitioned pass follows). */
  get partitioned(): boolean {
    return this.keyed.length > 0;
  }

  /** The keys gathered for a partition since the last call (the stage writes them to the staging store). */
  take(partition: number): CheckKey[] {
    const keys = this.pending[partition]!;
    this.pending[partition] = [];
    return keys;
  }

  result(): CheckTallyState {
    return this.state;
  }
}

function pick(columns: readonly ColumnSettings[], positions: readonly number[], values: readonly unknown[]): Record<string, ColumnScalar> {
  return Object.fromEntries(positions.map((position) => [columns[position]!.name, (values[position] ?? null) as ColumnScalar]));
}

function aggregate(into: ColumnAggregate, value: unknown): void {
  if (value === null || value === undefined) {
    into.nulls += 1;
    return;
  }
  const scalar = value as string | number | boolean;
  if (into.min === null || scalar < into.min) into.min = scalar;
  if (into.max === null || scalar > into.max) into.max = scalar;
  if (typeof value === "number") into.sum = (into.sum ?? 0) + value;
}

