import { z } from "zod";
import { upgradeRetryPolicies, type RetryPolicies } from "../domain/retry-policy";
import { checkSchedule, DEFAULT_SCHEDULE, MISSED_RUN_POLICIES, parseDeadline, parseInterval, type ScheduleSpec } from "../domain/schedule";
import type { StallPolicy } from "../domain/stall";
import { columnSettings } from "./columns";
import { checkPlace, DEFAULT_DESTINATION_KIND, type DestinationSettings } from "../destinations";
import { DUPLICATE_POLICIES, WATERMARK_FORMATS, type Pipeline, type WatermarkFormat } from "./define-pipeline";
import { sourceFromUrlVariable, sourceKindOf, SourceSchema, toSourceSettings, urlVariableName, type SourceSettings } from "../sources";
import { mergeTuning, TuningShape } from "./tuning";
import { paramNames } from "./params";

/**
 * A pipeline's definition and the Worker's variables, resolved into everything a run needs. Resolved once
 * when a run starts and stored with it, so a run that resumes after a restart works as it started. Secrets
 * are never in here: headers and URLs keep their `{{NAME}}` placeholders until a request is made.
 */
export interface PipelineSettings {
  pipeline: string;
  schedule: ScheduleSpec;
  /** Primary source first, then the fallbacks, in order. */
  sources: SourceSettings[];
  destination: DestinationSettings;
  watermark: WatermarkSettings | null;
  /** The pipeline's own configuration (its `config` schema, filled by the deployment), for its transform. */
  config: unknown;
  /** Columns a CSV header must have. */
  csvColumns: string[];
  /** Records per staged chunk. */
  chunkRecords: number;
  /** A record larger than this is rejected without being held. */
  maxRecordBytes: number;
  /** Stage agents working side by side: transform over chunks, load over key buckets. */
  parallelism: { transform: number; load: number };
  /** Multi-row statements per D1 batch (one transaction). */
  statementsPerBatch: number;
  /** Transform follows extract chunk by chunk (first attempts); absent in settings saved before it existed. */
  overlap?: boolean;
  /** Named retry policies: stage attempts, source requests, alert posts. */
  retry: RetryPolicies;
  /** One stage attempt fails (and may be retried) after this long. */
  stageTimeoutMs: number;
  stall: StallPolicy;
  /** How often the coordinator checks active runs for stalls. */
  watchdogIntervalMs: number;
  /** Runs kept in history (with their rejected-record detail); older ones are pruned. */
  historyLimit: number;
  /** How long a failed or cancelled run's staged data is kept for a retry. */
  keepFailedStagingMs: number;
}

export type { DestinationSettings };

export interface WatermarkSettings {
  /** The column whose newest loaded value becomes the watermark. */
  column: string;
  /** Query parameter that carries the watermark on the first page request. */
  param: string | null;
  format: WatermarkFormat;
}

/** Settings stored with a run by an earlier version, in today's shape (a resumed run works as it started). */
export function upgradeSettings(stored: PipelineSettings): PipelineSettings {
  // Destinations were all D1 tables before they had kinds.
  const destination = stored.destination.kind === undefined ? { ...stored.destination, kind: DEFAULT_DESTINATION_KIND } : stored.destination;
  return { ...stored, destination, retry: upgradeRetryPolicies(stored.retry as Parameters<typeof upgradeRetryPolicies>[0]) };
}

export type SettingsResult = { ok: true; settings: PipelineSettings } | { ok: false; errors: string[] };

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

/** The keys of a pipeline's config variable the engine reads (its own `config` keys join them). */
const EngineConfigShape = {
  ...TuningShape,
  schedule: z
    .strictObject({
      timezone: z.string().min(1).max(64).optional(),
      missedRuns: z.enum(MISSED_RUN_POLICIES).optional(),
      maxCatchUp: z.number().int().min(1).max(100).optional(),
      missedAfterMs: ms(0, 86_400_000).optional(),
      deadline: z.string().min(2).max(20).nullable().optional(),
    })
    .optional(),
  sources: z.array(SourceSchema).min(1, "needs at least one source").max(10).optional(),
  watermark: z.strictObject({ param: z.string().min(1).max(100), format: z.enum(WATERMARK_FORMATS).default("iso") }).optional(),
  duplicates: z.enum(DUPLICATE_POLICIES).optional(),
};

const configSchemas = new WeakMap<Pipeline, z.ZodType>();

/** The pipeline's config variable: the engine's keys and the pipeline's own, unknown keys refused. */
export function configSchemaOf(pipeline: Pipeline): z.ZodType {
  let schema = configSchemas.get(pipeline);
  if (!schema) {
    const own = (pipeline.config as unknown as { shape?: z.ZodRawShape } | undefined)?.shape ?? {};
    schema = z.strictObject({ ...EngineConfigShape, ...own });
    configSchemas.set(pipeline, schema);
  }
  return schema;
}

/** Reads and checks a pipeline's settings from its definition and the Worker's variables. */
export function resolveSettings(pipeline: Pipeline, env: Readonly<Record<string, unknown>>): SettingsResult {
  const vars = pipeline.vars ?? {};
  const configName = vars.config ?? `the config of pipeline ${pipeline.name}`;

  const parsed = readConfigVariable(configName, vars.config ? env[vars.config] : undefined, configSchemaOf(pipeline));
  if (!parsed.ok) return parsed;
  const config = parsed.config as z.output<z.ZodObject<typeof EngineConfigShape>> & Record<string, unknown>;

  const schedule = resolveSchedule(pipeline, env, config.schedule, configName);
  if (!schedule.ok) return schedule;

  const tuning = mergeTuning(pipeline.tuning, config);
  const sources = resolveSources(pipeline, env, config.sources, configName, tuning.timeouts.sourceMs);
  if (!sources.ok) return sources;
  const sourceProblems = sources.sources.flatMap((source, index) =>
    sourceKindOf(source)
      .problems(source, { params: paramNames(pipeline), env, hasSample: pipeline.sample !== undefined })
      .map((problem) => `pipeline ${pipeline.name}: sources[${index}].${problem}`),
  );
  if (sourceProblems.length > 0) return { ok: false, errors: sourceProblems };

  const place = checkPlace(pipeline.destination);
  if (!place.ok) return { ok: false, errors: place.errors.map((error) => `pipeline ${pipeline.name}: ${error}`) };
  const own = Object.fromEntries(Object.keys((pipeline.config as unknown as { shape?: object } | undefined)?.shape ?? {}).map((key) => [key, config[key]]));
  const declared = pipeline.destination.duplicates;
  const duplicates = config.duplicates ?? (typeof declared === "function" ? declared(own) : declared) ?? "reject";
  if (config.watermark && !pipeline.watermark) return { ok: false, errors: [`${configName}.watermark: pipeline ${pipeline.name} declares no watermark column`] };
  const watermarkParam = config.watermark?.param ?? pipeline.watermark?.param;
  const watermark =
    // A source that takes the watermark as a value (a D1 query's `watermark`) needs no query parameter.
    pipeline.watermark && (watermarkParam || !sources.sources.some((source) => sourceKindOf(source).watermarkParam))
      ? { column: pipeline.watermark.column, param: watermarkParam ?? null, format: config.watermark?.format ?? pipeline.watermark.format ?? ("iso" as const) }
      : null;

  const destination = place.kind.resolve(place.declared as never, { key: [...pipeline.destination.key], columns: columnSettings(pipeline.destination.columns), duplicates }, env);
  if (!destination.ok) return destination;

  return {
    ok: true,
    settings: {
      pipeline: pipeline.name,
      schedule: schedule.spec,
      sources: sources.sources,
      destination: destination.settings,
      watermark,
      config: own,
      csvColumns: pipeline.csvColumns?.(own) ?? requiredKeys(pipeline.record),
      chunkRecords: tuning.chunkRecords,
      maxRecordBytes: tuning.maxRecordBytes,
      parallelism: tuning.parallelism,
      statementsPerBatch: tuning.load.statementsPerBatch,
      overlap: tuning.overlap,
      retry: tuning.retries,
      stageTimeoutMs: tuning.timeouts.stageMs,
      stall: { stallTimeoutMs: tuning.recovery.stallTimeoutMs, maxResumes: tuning.recovery.maxResumes },
      watchdogIntervalMs: tuning.recovery.watchdogIntervalMs,
      historyLimit: tuning.history.maxRuns,
      keepFailedStagingMs: tuning.history.keepFailedStagingMs,
    },
  };
}

/**
 * What a pipeline declares for its schedule, read as far as it can be without checking it (its cron
 * variable, its config variable's schedule.timezone): shown in place of a schedule that does not resolve,
 * so a misconfigured pipeline reads in the zone it was configured for.
 */
export function declaredSchedule(pipeline: Pipeline, env: Readonly<Record<string, unknown>>): { cron: string | null; every: string | null; timezone: string } {
  const cronVar = pipeline.vars?.cron;
  const fromVar = cronVar ? env[cronVar] : undefined;
  const cron = typeof fromVar === "string" && fromVar.trim() !== "" ? fromVar.trim() : (pipeline.schedule.cron ?? null);
  const raw = pipeline.vars?.config ? env[pipeline.vars.config] : undefined;
  let config: unknown = raw;
  if (typeof raw === "string") {
    try {
      config = JSON.parse(raw);
    } catch {
      config = null;
    }
  }
  const zone = (config as { schedule?: { timezone?: unknown } } | null)?.schedule?.timezone;
  return {
    cron,
    every: typeof fromVar === "string" && fromVar.trim() !== "" ? null : (pipeline.schedule.every ?? null),
    timezone: typeof zone === "string" && zone !== "" ? zone : (pipeline.schedule.timezone ?? DEFAULT_SCHEDULE.timezone),
  };
}

function resolveSchedule(
  pipeline: Pipeline,
  env: Readonly<Record<string, unknown>>,
  overrides: { timezone?: string; missedRuns?: ScheduleSpec["missedRuns"]; maxCatchUp?: number; missedAfterMs?: number; deadline?: string | null } | undefined,
  configName: string,
): { ok: true; spec: ScheduleSpec } | { ok: false; errors: string[] } {
  const declared = pipeline.schedule;
  let cron = declared.cron ?? null;
  let intervalMs = declared.every === undefined ? null : parseInterval(declared.every);
  if (declared.every !== undefined && intervalMs === null) return { ok: false, errors: [`pipeline ${pipeline.name}: schedule.every ${JSON.stringify(declared.every)} is not a duration like "15m", "6h" or "1d"`] };
  const cronVar = pipeline.vars?.cron;
  const fromVar = cronVar ? env[cronVar] : undefined;
  if (typeof fromVar === "string") {
    if (fromVar.trim() === "") return { ok: false, errors: [`${cronVar} is empty; set a 5-field cron expression such as "0 3 * * *"`] };
    cron = fromVar.trim();
    intervalMs = null;
  }
  const deadlineText = overrides?.deadline !== undefined ? overrides.deadline : (declared.deadline ?? null);
  const deadline = deadlineText === null ? null : parseDeadline(deadlineText);
  if (deadline && !deadline.ok) return { ok: false, errors: [`${overrides?.deadline !== undefined ? `${configName}.schedule` : `pipeline ${pipeline.name}: schedule`}: ${deadline.reason}`] };
  const spec: ScheduleSpec = {
    cron,
    intervalMs,
    timezone: overrides?.timezone ?? declared.timezone ?? DEFAULT_SCHEDULE.timezone,
    enabled: true,
    missedRuns: overrides?.missedRuns ?? declared.missedRuns ?? DEFAULT_SCHEDULE.missedRuns,
    maxCatchUp: overrides?.maxCatchUp ?? declared.maxCatchUp ?? DEFAULT_SCHEDULE.maxCatchUp,
    missedAfterMs: overrides?.missedAfterMs ?? declared.missedAfterMs ?? DEFAULT_SCHEDULE.missedAfterMs,
    deadlineMs: deadline ? deadline.ms : null,
  };
  const check = checkSchedule(spec);
  if (check.ok) return { ok: true, spec };
  const where = check.reason.startsWith("timezone") ? `${configName}.schedule` : typeof fromVar === "string" ? cronVar! : `pipeline ${pipeline.name}: schedule`;
  return { ok: false, errors: [`${where}: ${check.reason}`] };
}

function resolveSources(
  pipeline: Pipeline,
  env: Readonly<Record<string, unknown>>,
  fromConfig: z.output<typeof SourceSchema>[] | undefined,
  configName: string,
  defaultTimeoutMs: number,
): { ok: true; sources: SourceSettings[] } | { ok: false; errors: string[] } {
  const declared = pipeline.vars?.sourceUrl;
  const url = declared && typeof env[urlVariableName(declared)] === "string" ? (env[urlVariableName(declared)] as string).trim() : "";
  if (declared && url !== "") {
    const source = sourceFromUrlVariable(declared, url, { pipeline: pipeline.name, configName, configHasSources: fromConfig !== undefined, defaultTimeoutMs });
    return source.ok ? { ok: true, sources: [source.source] } : source;
  }
  if (fromConfig) return { ok: true, sources: fromConfig.map((source, index) => toSourceSettings(source, index, defaultTimeoutMs)) };
  const sources: SourceSettings[] = [];
  for (const [index, source] of pipeline.sources.entries()) {
    const checked = SourceSchema.safeParse(source);
    if (!checked.success) return { ok: false, errors: checked.error.issues.map((issue) => `pipeline ${pipeline.name}: sources[${index}]${pathOf(issue.path)}: ${issue.message}`) };
    sources.push(toSourceSettings(checked.data, index, defaultTimeoutMs));
  }
  if (sources.length === 0) return { ok: false, errors: [`pipeline ${pipeline.name} declares no sources`] };
  return { ok: true, sources };
}

/** A config variable may be an object (from wrangler.jsonc) or JSON text (from `--var` or the dashboard). */
function readConfigVariable(name: string, raw: unknown, schema: z.ZodType): { ok: true; config: unknown } | { ok: false; errors: string[] } {
  let value = raw ?? {};
  if (typeof value === "string") {
    if (value.trim() === "") value = {};
    else {
      try {
        value = JSON.parse(value);
      } catch (error) {
        return { ok: false, errors: [`${name} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`] };
      }
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((issue) => `${name}${pathOf(issue.path)}: ${issue.message}`) };
  return { ok: true, config: parsed.data };
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)).join("");
}

/** The keys a record schema requires, when it is an object schema (for a CSV header check). */
function requiredKeys(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) return [];
  return Object.entries(shape)
    .filter(([, field]) => !field.safeParse(undefined).success)
    .map(([key]) => key);
}
