import { DatabaseSync } from "node:sqlite";
import { accountFor, mismatchMessage, type Accounting } from "../domain/accounting";
import { blockingResults, checkReport, describeFailures, mergeTallies, type CheckReport } from "../domain/check-results";
import { duplicateReason, rawForStorage } from "../domain/records";
import type { Trigger } from "../domain/run";
import { STAGE_NAMES, type StageName } from "../domain/stages";
import { readSample } from "../sources/sample/read";
import { applyTransform, keyOf, TransformCrashed } from "./apply-transform";
import { evaluateChecks } from "./check-evaluation";
import { runCheckPass, type ScratchSql, type TableLookups } from "./check-pass";
import { passTargets } from "./check-targets";
import { CheckTally, valueKey } from "./check-tally";
import { resolveChecks } from "./checks";
import { checkDefinition, type Pipeline, type SampleData } from "./define-pipeline";
import { checkParams } from "./params";
import { resolveSettings } from "./settings";
import { ContractTally } from "./contract";
import type { ContractSummary } from "../domain/contract-summary";

/**
 * The test kit: a pipeline run in plain Node, without workerd, over given records or its sample, computed
 * by the code a real run uses (the source format parsers, `applyTransform` with the record schema, the
 * contract and the row check, the dataset checks' tally, partitioned pass and verdicts, the duplicate
 * rule and the accounting). What it leaves out is the platform: agents, staging, the D1 write itself.
 *
 *   const result = await runPipeline(orders, { records: [{ store_id: "berlin", … }] });
 *   expect(result.rows).toHaveLength(1);
 */

export interface TestRunOptions {
  /** Records as a source would give them (objects); JSON round-tripped like staged records are. */
  records?: readonly unknown[];
  /** A body in a source format, read by the real parser (`{ format: "csv", text }`). */
  body?: Extract<SampleData, { format: string }>;
  /** The pipeline's config as a deployment sets it (its JSON variable), checked and given defaults. */
  config?: Record<string, unknown>;
  /** The run's params, checked against the pipeline's params schema (a misfit throws, naming the field). */
  params?: Record<string, unknown>;
  /** The run's slot (default: the moment of the call, as a manual run has it). */
  slot?: Date | string | number;
  trigger?: Trigger;
  /** Rows of the tables checks look in, by table name (or by pipeline name, for `to: { pipeline }`); the destination's own rows for unique checks. */
  tables?: Record<string, readonly Record<string, unknown>[]>;
  /** Rows the pipeline's last successful runs staged, newest first (for `row_count` against the usual). */
  history?: readonly number[];
  /** Other pipelines a relationship names (`to: { pipeline }`), so their destination tables are known. */
  pipelines?: readonly Pipeline[];
}

export interface TestRejection {
  position: number;
  id: string | null;
  stage: StageName;
  reason: string;
  raw: string;
}

export interface TestRunResult {
  status: "succeeded" | "failed";
  /** `checks_failed` when an error check blocked the load. */
  errorCode?: "checks_failed";
  error?: string;
  /** The rows as the destination would hold them after this run (none when the checks blocked it). */
  rows: Record<string, unknown>[];
  /** The rows the transform made, in position order, before the duplicate rule (what the checks judged). */
  transformed: Record<string, unknown>[];
  rejected: TestRejection[];
  /** Positions of the records the transform skipped. */
  skipped: number[];
  checks: CheckReport | null;
  /** Fields the record schema does not know, as the run reports them (null when no record carried one). */
  contract: ContractSummary | null;
  accounting: Accounting;
}

export async function runPipeline(pipeline: Pipeline, options: TestRunOptions = {}): Promise<TestRunResult> {
  const env = standInEnv(pipeline, options.config);
  // What the deployment would refuse, the kit refuses too (a check naming a column the table lacks, a lag that is no duration).
  const problems = checkDefinition(pipeline);
  if (problems.length > 0) throw new Error(`pipeline ${pipeline.name} is not a valid definition: ${problems.join("; ")}`);
  const body = options.body as unknown;
  if (body !== undefined && (typeof body !== "object" || body === null || typeof (body as { text?: unknown }).text !== "string")) throw new Error('body is { format: "csv" | "ndjson" | "json", text }, not the text itself');
  const sample = options.records ? { records: options.records } : (options.body ?? pipeline.sample);
  if (!sample) throw new Error(`pipeline ${pipeline.name} has no sample: give records or a body`);
  // The kit reads the given records in place of the pipeline's sources: everything else resolves as deployed.
  const resolved = resolveSettings({ ...pipeline, sources: [{ type: "sample" }], sample }, env);
  if (!resolved.ok) throw new Error(`pipeline ${pipeline.name} does not resolve: ${resolved.errors.join("; ")}`);
  const settings = resolved.settings;
  const params = checkParams(pipeline, options.params);
  if (!params.ok) throw new Error(`invalid params: ${params.problems.map((problem) => `${problem.field}: ${problem.message}`).join("; ")}`);
  const asOf = options.slot === undefined ? Date.now() : new Date(options.slot).getTime();
  const trigger = options.trigger ?? (options.slot === undefined ? "manual" : "scheduled");
  const context = { runId: "test-run", pipeline: pipeline.name, trigger, scheduledFor: options.slot === undefined ? null : asOf, asOf, timezone: settings.schedule.timezone, config: settings.config, params: params.params };
  const { destination } = settings;
  const columns = destination.columns.map((column) => column.name);

  const checks = resolveChecks(pipeline.checks);
  const ownTable = (pipeline.destination as { table?: string }).table ?? null;
  const tally = checks.length > 0 ? new CheckTally(checks, destination.columns, destination.key, 1, { pipeline: pipeline.name, table: ownTable }) : null;

  const drift = ContractTally.of(pipeline);
  const rejected: TestRejection[] = [];
  const skipped: number[] = [];
  const staged: { position: number; id: string; values: unknown[]; raw: string }[] = [];
  let position = 0;
  const csvColumns = settings.csvColumns;
  for await (const items of readSample(sample, { csvColumns, maxRecordBytes: settings.maxRecordBytes, signal: new AbortController().signal })) {
    for (const item of items) {
      const at = position++;
      if (!item.ok) {
        rejected.push({ position: at, id: null, stage: "extract", reason: item.reason, raw: item.raw });
        continue;
      }
      // Records reach the transform through the staging store, as JSON.
      const record = JSON.parse(JSON.stringify(item.record ?? null)) as unknown;
      let outcome;
      try {
        outcome = applyTransform(pipeline, destination, record, context, drift, at);
      } catch (error) {
        if (error instanceof TransformCrashed) throw new Error(`${error.message} (record at position ${at})`);
        throw error;
      }
      if (outcome.kind === "row") {
        staged.push({ position: at, id: outcome.id, values: outcome.values, raw: rawForStorage(record) });
        tally?.row(at, outcome.id, outcome.values);
      } else if (outcome.kind === "rejected") rejected.push({ position: at, id: outcome.id, stage: "transform", reason: outcome.reason, raw: rawForStorage(record) });
      else skipped.push(at);
    }
  }
  const extracted = position;
  const rowOf = (values: readonly unknown[]) => Object.fromEntries(columns.map((name, index) => [name, values[index]]));

  let checksResult: CheckReport | null = null;
  if (tally) {
    const found = tally.partitioned ? await partitionedPass(pipeline, tally, options) : {};
    const merged = mergeTallies([tally.result(), { rows: 0, columns: {}, found }]);
    const results = evaluateChecks(checks, merged, { extracted, rejected: rejected.length, skipped: skipped.length, asOf }, (runs) => (options.history ?? []).slice(0, runs));
    checksResult = checkReport(results, Date.now());
  }
  const stages = (loaded: number | null) =>
    STAGE_NAMES.map((name) => ({ name, inputCount: name === "extract" ? extracted : null, outputCount: name === "load" ? loaded : null }));
  if (checksResult?.blocked) {
    return {
      status: "failed",
      errorCode: "checks_failed",
      error: `checks failed: ${describeFailures(blockingResults(checksResult.results))}`,
      rows: [],
      transformed: staged.map((row) => rowOf(row.values)),
      rejected,
      skipped,
      checks: checksResult,
      contract: drift.summary(),
      accounting: accountFor({ stages: stages(0), rejectedCount: rejected.length, skippedCount: skipped.length }),
    };
  }

  // The duplicate rule the load applies (src/destinations/d1/writes.ts): one row per key; "reject" keeps
  // the first and rejects the later ones naming it, "last-wins" writes each in turn so the last stays.
  const byKey = new Map<string, { position: number; values: unknown[] }>();
  let written = 0;
  for (const row of staged) {
    const key = JSON.stringify(keyOf(destination, row.values));
    const first = byKey.get(key);
    if (first && destination.duplicates === "reject") {
      rejected.push({ position: row.position, id: row.id, stage: "load", reason: duplicateReason(row.id, first.position), raw: row.raw });
      continue;
    }
    byKey.set(key, { position: first?.position ?? row.position, values: row.values });
    written += 1;
  }
  rejected.sort((a, b) => a.position - b.position);
  const rows = [...byKey.values()].sort((a, b) => a.position - b.position).map((row) => rowOf(row.values));
  const accounting = accountFor({ stages: stages(written), rejectedCount: rejected.length, skippedCount: skipped.length });
  return {
    status: accounting.balanced ? "succeeded" : "failed",
    ...(accounting.balanced ? {} : { error: mismatchMessage(accounting) }),
    rows,
    transformed: staged.map((row) => rowOf(row.values)),
    rejected,
    skipped,
    checks: checksResult,
    contract: drift.summary(),
    accounting,
  };
}

/** The partitioned checks over node:sqlite, with the given tables as the lookups' targets. */
async function partitionedPass(pipeline: Pipeline, tally: CheckTally, options: TestRunOptions) {
  const db = new DatabaseSync(":memory:");
  try {
    const sql: ScratchSql = { exec: (query, ...params) => db.prepare(query).all(...params) as Record<string, unknown>[] };
    const tables = options.tables ?? {};
    const lookups = memoryLookups(tables);
    const others = new Map((options.pipelines ?? []).map((other) => [other.name, other]));
    const find = (name: string) => (name === pipeline.name ? pipeline : others.get(name));
    const place = (declared: object) => {
      const table = (declared as { table?: unknown }).table;
      return typeof table === "string" ? { lookups, table } : null;
    };
    const targets = passTargets(pipeline, find, (declared) => place(declared));
    const withNames = {
      ...targets,
      // A pipeline the test did not pass: its rows are looked up under its name.
      relationship: (check: Parameters<typeof targets.relationship>[0]) => targets.relationship(check) ?? ("pipeline" in check.to ? { lookups, table: check.to.pipeline } : null),
    };
    async function* keys() {
      yield tally.take(0);
    }
    return await runCheckPass(tally.checks, sql, keys(), withNames);
  } finally {
    db.close();
  }
}

function memoryLookups(tables: Record<string, readonly Record<string, unknown>[]>): TableLookups {
  const rowsOf = (table: string) => tables[table] ?? [];
  return {
    // D1's page size, so paging is exercised as in a run. Values match when their JSON does: the kit's
    // tables hold values as the destination stores them (no column affinity or collation to apply).
    tuplesPerLookup: (columns) => Math.max(1, Math.floor(100 / (columns + 1))),
    present: async (table, columns, tuples) => {
      const held = new Set(rowsOf(table).map((row) => valueKey(columns.map((column) => row[column] ?? null))));
      return tuples.flatMap((tuple, index) => (held.has(valueKey(tuple)) ? [index] : []));
    },
    holders: async (table, columns, key, tuples) => {
      const wanted = new Map(tuples.map((tuple, index) => [valueKey(tuple), index]));
      const pairs = rowsOf(table).flatMap((row) => {
        const index = wanted.get(valueKey(columns.map((column) => row[column] ?? null)));
        return index === undefined ? [] : [{ index, key: valueKey(key.map((column) => row[column] ?? null)) }];
      });
      return [...new Map(pairs.map((pair) => [`${pair.index}|${pair.key}`, pair])).values()];
    },
  };
}

/**
 * The Worker's environment as the kit sees it: the pipeline's config variable from `config`, its other
 * variables unset, and any binding a destination names (a bucket) present as a stand-in, never called:
 * the kit writes nowhere.
 */
function standInEnv(pipeline: Pipeline, config: Record<string, unknown> | undefined): Record<string, unknown> {
  const values: Record<string, unknown> = { D1_DATABASE_NAME: "test" };
  if (pipeline.vars?.config && config) values[pipeline.vars.config] = JSON.stringify(config);
  const sourceUrl = pipeline.vars?.sourceUrl;
  const variables = new Set([pipeline.vars?.config, pipeline.vars?.cron, typeof sourceUrl === "string" ? sourceUrl : sourceUrl?.name].filter((name): name is string => typeof name === "string"));
  return new Proxy(values, {
    get: (target, key) => (typeof key !== "string" || key in target ? target[key as string] : variables.has(key) ? undefined : { standIn: key }),
  });
}
