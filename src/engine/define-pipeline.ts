import type { z } from "zod";
import { parseDeadline, type MissedRunPolicy } from "../domain/schedule";
import type { Trigger } from "../domain/run";
import { BOOKKEEPING_COLUMNS, type Columns, type RowOf } from "./columns";
import type { Rejected, Skipped } from "./outcomes";
import type { SourceInput, UrlVariable } from "../sources";
import { checkPlace, type DestinationPlace } from "../destinations";
import type { TuningInput } from "./tuning";
import { impliedCron, triggerProblems, type TriggersInput } from "./triggers";
import { checkProblems, type CheckDefinition } from "./checks";
import { contractProblems, type ContractDefinition } from "./contract";

/**
 * A pipeline is one TypeScript file: `export default definePipeline({ … })`, registered in
 * src/pipelines/index.ts. Configuration first, then one function (the transform), typed end to end: the
 * record schema's output is the transform's input, and the transform's output must be a row of the
 * destination's columns, or the file does not compile.
 */

export const DUPLICATE_POLICIES = ["reject", "last-wins"] as const;
/** What a second record with the same key in one run does: rejected (the first wins), or it replaces the first. */
export type DuplicatePolicy = (typeof DUPLICATE_POLICIES)[number];

export const WATERMARK_FORMATS = ["iso", "epoch-ms"] as const;
export type WatermarkFormat = (typeof WATERMARK_FORMATS)[number];

export interface ScheduleDefinition {
  /** A 5-field cron expression, read in `timezone`. Set this or `every`. */
  cron?: string;
  /** A fixed interval: "15m", "6h", "1d". */
  every?: string;
  /** IANA time zone (default UTC). */
  timezone?: string;
  /** What happens to slots that passed unseen (default "latest"). */
  missedRuns?: MissedRunPolicy;
  maxCatchUp?: number;
  missedAfterMs?: number;
  /** How long after its slot a run must have succeeded ("2h"): later, the slot alerts run_late or slot_missed. */
  deadline?: string;
}

/** Data for `{ type: "sample" }`: records, or a body in one of the source formats (read by the real parser). */
export type SampleData = { records: readonly unknown[] } | { format: "csv" | "ndjson" | "json"; text: string };

/** What a transform knows about the run it works for. */
export interface TransformContext<Config, Params = Record<string, unknown>> {
  runId: string;
  pipeline: string;
  trigger: Trigger;
  /** The slot the run belongs to (epoch ms), or null for a run without one (a manual trigger). */
  scheduledFor: number | null;
  /** The moment the run's data is for (epoch ms): its slot, or when it was triggered; a retry keeps its original's. */
  asOf: number;
  /** The IANA time zone of the pipeline's schedule: the zone a "day" of this run is read in. */
  timezone: string;
  /** The pipeline's own configuration (`config`), as the deployment set it. */
  config: Config;
  /** The run's parameters (`params`): given with the trigger, or the schema's defaults. */
  params: Params;
}

/**
 * Where the rows go (`{ table }` for a D1 table created by a migration, or another kind's place, by
 * `type`), with the columns, the key and what a duplicate key does, which every kind shares.
 */
export type Destination<C extends Columns, Config> = DestinationPlace & DestinationRows<C, Config>;

export interface DestinationRows<C extends Columns, Config> {
  /** The upsert key: one or more columns. */
  key: readonly [keyof C & string, ...(keyof C & string)[]];
  columns: C;
  /** A second record with the same key in one run (default "reject": the first wins). */
  duplicates?: DuplicatePolicy | ((config: Config) => DuplicatePolicy);
}

/** A row with a column the destination does not have: named in the compiler's error. */
type ExtraColumns<R, C> = R extends Rejected | Skipped ? never : Exclude<keyof R, keyof C>;
type RowCheck<R, C> = [ExtraColumns<R, C>] extends [never] ? unknown : { "the transform returns columns the destination does not have": ExtraColumns<R, C> };

export interface PipelineDefinition<Input extends z.ZodType, C extends Columns, Config, R = RowOf<C> | Rejected | Skipped, Params = Record<string, never>> {
  /** URL-safe and unique: lower-case letters, digits and dashes. Names the pipeline's agents and API paths. */
  name: string;
  description: string;
  /**
   * Changed by hand when the transform's behaviour changes in code its fingerprint cannot see (a helper
   * it calls): runs record the definition's fingerprint, and a resumed or retried run redoes what changed.
   */
  version?: string;
  /**
   * When its slots are. A pipeline whose `triggers.after` maps whole days may leave out `cron` and `every`:
   * its slot is then the midnight that closes each day, and runs once that day's upstream slots are in.
   */
  schedule: ScheduleDefinition;
  /**
   * What starts runs besides the clock: `after` (upstream pipelines whose slots each slot waits for, a
   * time-and-data gate when there is a schedule too), `objects` (files landing in the R2 source's bucket,
   * through event notifications) and `events` (posted to the API).
   */
  triggers?: TriggersInput;
  /** Tried in order: the primary, then fallbacks. `{ type: "sample" }` reads `sample`. */
  sources: readonly SourceInput[];
  /** Built-in data for local use (`npm run dev`), read by `{ type: "sample" }`. */
  sample?: SampleData;
  /** Worker variables the pipeline reads, so a deployment can change it without a code change. */
  vars?: {
    /** A JSON variable: tuning, source list, schedule details and `config` keys. */
    config?: string;
    /** A variable whose cron expression replaces `schedule`. */
    cron?: string;
    /** A variable holding an http(s) URL: when it is set, the pipeline reads that URL instead of `sources`. */
    sourceUrl?: UrlVariable;
  };
  /** The pipeline's own settings (a zod object with defaults); given to the transform as `context.config`. */
  config?: z.ZodType<Config>;
  /**
   * Parameters a run may be given (`POST …/trigger` with `{ "params": { … } }`, a backfill, the CLI's
   * `--param`): a zod object whose fields all have defaults or are optional, since a scheduled run is
   * given none. Checked at the API (400 naming the field), kept on the run, given to the transform as
   * `context.params` and to source URLs as `{{params.<name>}}`.
   */
  params?: z.ZodType<Params>;
  /** Checks each input record; one that fails is rejected with the field and the problem. */
  record: Input;
  /**
   * What a raw record carrying a top-level field `record` does not know does (docs/pipelines.md#contracts):
   * `evolve` (the default) goes on and the run reports the new fields; `freeze` rejects the record naming
   * them; `discard` drops them and counts them. Needs a record schema that names its fields (a z.object).
   */
  contract?: ContractDefinition;
  /** How a record is named in rejections and duplicate reports (default: its key values joined by "/"). */
  recordId?: (raw: unknown, config: Config) => string | null;
  /** One record in, one row out (exactly the destination's columns), or `reject(reason)`, or `skip()`. */
  transform: ((record: z.output<Input>, context: TransformContext<Config, Params>) => R) & RowCheck<R, C>;
  destination: Destination<C, Config>;
  /**
   * Dataset checks over the transformed batch, run before anything is loaded (docs/checks.md): row
   * counts, the reject rate, unique, not null, accepted values, relationships, freshness, custom. A
   * failed `error` check fails the run with `checks_failed` and writes nothing; a `warn` check alerts.
   */
  checks?: readonly CheckDefinition<C>[];
  /** Incremental reads: the newest `column` value loaded by a successful run is sent as `param` next time. */
  watermark?: { column: keyof C & string; param?: string; format?: WatermarkFormat };
  /** Columns a CSV header must have (default: the record schema's required keys). */
  csvColumns?: (config: Config) => string[];
  tuning?: TuningInput;
}

/** A pipeline as the engine holds it: the same definition, its types erased. */
export type Pipeline = PipelineDefinition<z.ZodType, Columns, unknown, RowOf<Columns> | Rejected | Skipped, Record<string, unknown>>;

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Keys of the config variable the engine reads itself; a pipeline's own config may not use them. */
export const ENGINE_CONFIG_KEYS = ["schedule", "sources", "watermark", "duplicates", "chunkRecords", "maxRecordBytes", "parallelism", "load", "retries", "timeouts", "recovery", "history"] as const;

type Lowercase26 = "a" | "b" | "c" | "d" | "e" | "f" | "g" | "h" | "i" | "j" | "k" | "l" | "m" | "n" | "o" | "p" | "q" | "r" | "s" | "t" | "u" | "v" | "w" | "x" | "y" | "z";
type NameCharacter = Lowercase26 | "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "-";
type NameRest<S extends string> = S extends "" ? true : S extends `${infer C}${infer Rest}` ? (C extends NameCharacter ? NameRest<Rest> : false) : false;

/**
 * A pipeline's name as the compiler checks it: lower-case letters, digits and dashes, starting with a
 * letter (it names agents and API paths). A name that breaks the rule has this type instead, so the file
 * does not compile and the message says why; a name known only at run time is checked when it loads.
 */
export type PipelineName<N extends string> = string extends N ? N : N extends `${Lowercase26}${infer Rest}` ? (NameRest<Rest> extends true ? N : NameError<N>) : NameError<N>;
type NameError<N extends string> = { "a pipeline name is lower-case letters, digits and dashes, starting with a letter": N };

/**
 * Declares a pipeline. Nothing is checked here at run time: the deployment checks every definition when
 * it loads (src/engine/deployment.ts), so a mistake in one file sets that pipeline aside with its errors
 * instead of stopping the Worker; what the compiler can see (the name's shape, the key among the
 * columns, the row against the columns) does not compile.
 */
export function definePipeline<
  Input extends z.ZodType,
  const C extends Columns,
  const N extends string,
  Config = Record<string, never>,
  R extends RowOf<C> | Rejected | Skipped = RowOf<C> | Rejected | Skipped,
  Params = Record<string, never>,
>(definition: PipelineDefinition<Input, C, Config, R, Params> & { name: PipelineName<N> }): Pipeline {
  return definition as unknown as Pipeline;
}

/** What is wrong with a definition beyond what the compiler sees (names that reach SQL and URLs). */
export function checkDefinition(pipeline: Pipeline): string[] {
  const problems: string[] = [];
  if (!NAME.test(pipeline.name)) problems.push("name must be lower-case letters, digits and dashes, starting with a letter (at most 63)");
  const { key, columns } = pipeline.destination;
  const place = checkPlace(pipeline.destination);
  if (!place.ok) problems.push(...place.errors);
  else problems.push(...place.kind.problems(place.declared as never, Object.keys(columns)));
  const names = Object.keys(columns);
  if (names.length === 0) problems.push("destination.columns is empty");
  for (const name of names) {
    if (!IDENTIFIER.test(name)) problems.push(`column ${JSON.stringify(name)} is not a plain SQL name`);
    if ((BOOKKEEPING_COLUMNS as readonly string[]).includes(name)) problems.push(`column ${name} is written by the engine (${BOOKKEEPING_COLUMNS.join(", ")}); name yours otherwise`);
  }
  for (const column of key) if (!names.includes(column)) problems.push(`destination.key names ${column}, which is not a column`);
  if (new Set(key).size !== key.length) problems.push("destination.key names a column twice");
  if (pipeline.watermark && !names.includes(pipeline.watermark.column)) problems.push(`watermark.column ${pipeline.watermark.column} is not a column`);
  const clockless = pipeline.schedule.cron === undefined && pipeline.schedule.every === undefined;
  if (clockless ? impliedCron(pipeline.triggers) === null : pipeline.schedule.cron !== undefined && pipeline.schedule.every !== undefined) {
    problems.push(clockless && pipeline.triggers?.after ? "schedule needs cron or every: only upstream slots mapped by day imply one (midnight)" : "schedule needs exactly one of cron and every");
  }
  problems.push(...triggerProblems(pipeline.triggers));
  problems.push(...checkProblems(pipeline.checks as readonly CheckDefinition[] | undefined, columns));
  problems.push(...contractProblems(pipeline.contract, pipeline.record));
  if (pipeline.triggers?.objects && !(pipeline.sources ?? []).some((source) => (source as { type?: unknown }).type === "r2")) problems.push("triggers.objects needs an r2 source: the run reads the objects that landed through it");
  const configKeys = Object.keys((pipeline.config as { shape?: Record<string, unknown> } | undefined)?.shape ?? {});
  if (pipeline.config && !(pipeline.config as { shape?: unknown }).shape) problems.push("config must be a zod object (z.object({ … }))");
  for (const key of configKeys) if ((ENGINE_CONFIG_KEYS as readonly string[]).includes(key)) problems.push(`config key ${key} is the engine's own`);
  if (pipeline.params) {
    if (!(pipeline.params as { shape?: unknown }).shape) problems.push("params must be a zod object (z.object({ … }))");
    else if (!pipeline.params.safeParse({}).success) problems.push("every param needs a default or .optional(): a scheduled run is given no params");
  }
  if (pipeline.schedule.deadline !== undefined) {
    const deadline = parseDeadline(pipeline.schedule.deadline);
    if (!deadline.ok) problems.push(`schedule: ${deadline.reason}`);
  }
  return problems;
}
