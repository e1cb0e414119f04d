import { z } from "zod";
import type { BackoffPolicy } from "../domain/backoff";
import { DEFAULT_THRESHOLDS, type CategoryThresholds } from "../domain/categories";
import { DEFAULT_FIELDS, DEFAULT_RULES, type FieldMapping, type ValidationRules } from "../domain/mapping";
import type { StallPolicy } from "../domain/run";
import { checkSchedule, DEFAULT_SCHEDULE, type ScheduleSpec } from "../domain/schedule";
import { CSV_QUOTE_POLICIES, type CsvQuotePolicy } from "../sources/formats/csv-records";
import { placeholderNames } from "../sources/placeholders";

/** How the records of an HTTP source are laid out. */
export type SourceFormat = "json" | "ndjson" | "csv";

export type Pagination =
  | { type: "none" }
  /** Follow `Link: <url>; rel="next"` (RFC 8288). */
  | { type: "link-header" }
  /** A JSON body `{ <recordsPath>: [...], <field>: "https://…next page" }`. */
  | { type: "next-url-field"; field: string }
  /** A JSON body with a cursor field, sent back as a query parameter for the next page. */
  | { type: "cursor-field"; field: string; param: string };

/** What happens when a redirect or a next page leads to another origin than the source's own URL. */
export const CROSS_ORIGIN_POLICIES = ["strip-headers", "refuse"] as const;
export type CrossOriginPolicy = (typeof CROSS_ORIGIN_POLICIES)[number];

export interface HttpSource {
  kind: "http";
  name: string;
  /** May hold `{{NAME}}` placeholders in its path and query, filled from `secrets` at request time. */
  url: string;
  format: SourceFormat;
  /** JSON only: where the records array is, e.g. "data" for `{ "data": [...] }`. Empty: the body is the array. */
  recordsPath: string;
  /** Request headers; `{{NAME}}` is replaced by the secret NAME when the request is made. */
  headers: Record<string, string>;
  /** The Worker secrets (or variables) this source's placeholders may use. Nothing else is ever read. */
  secrets: string[];
  /** Configured headers go to the source's own origin only; elsewhere they are dropped, or the read is refused. */
  crossOrigin: CrossOriginPolicy;
  pagination: Pagination;
  maxPages: number;
  timeoutMs: number;
  csvDelimiter: string;
  csvQuoteErrors: CsvQuotePolicy;
  /** A quoted CSV field running over more lines than this is taken for a broken quote. */
  csvMaxRecordLines: number;
}

export type SourceSettings = { kind: "sample"; name: string } | HttpSource;

export interface RetrySettings extends BackoffPolicy {
  /** Attempts per stage (and per source request), the first included. */
  maxAttempts: number;
}

export interface WatermarkSettings {
  /** Query parameter that carries the watermark on the first page request. */
  param: string;
  format: "iso" | "epoch-ms";
}

/**
 * Everything a run needs to know about its pipeline. Resolved once when a run starts and stored with it,
 * so a run that resumes after a restart uses the settings it started with. Secrets are never stored
 * here: headers keep their `{{NAME}}` placeholders until the request is made.
 */
export interface PipelineSettings {
  pipeline: string;
  schedule: ScheduleSpec;
  /** Primary source first, then the fallbacks, in order. */
  sources: SourceSettings[];
  fields: FieldMapping;
  thresholds: CategoryThresholds;
  rules: ValidationRules;
  watermark: WatermarkSettings | null;
  /** Human-readable load target, e.g. d1://scheduled-pipeline/metrics. */
  destination: string;
  /** Records per staged chunk. */
  chunkRecords: number;
  /** A record (NDJSON line, JSON element, CSV row) larger than this is rejected without being held. */
  maxRecordBytes: number;
  /** Stage agents working side by side: transform over chunks, load over id buckets. */
  parallelism: { transform: number; load: number };
  /** Multi-row statements per D1 batch (one transaction). */
  statementsPerBatch: number;
  retry: RetrySettings;
  /** One stage attempt fails (and may be retried) after this long. */
  stageTimeoutMs: number;
  /** When a run counts as stalled, and how often it may be resumed before it fails. */
  stall: StallPolicy;
  /** How often the coordinator checks active runs for stalls. */
  watchdogIntervalMs: number;
  /** Runs kept in history (with their rejected-record detail); older ones are pruned. */
  historyLimit: number;
}

export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

const ms = (min: number, max: number) => z.number().int().min(min).max(max);
const fieldPath = z.string().min(1).max(200);
/** The service's own secrets: no source may ever send them anywhere. */
export const RESERVED_SECRETS = ["API_TOKEN", "ALERT_WEBHOOK_URL"] as const;

/**
 * A source URL: http(s), no `user:pass@` (credentials belong in a header, where they can be kept to the
 * source's origin and out of every report), placeholders only after the origin.
 */
export function checkSourceUrl(value: string): string | null {
  const probe = value.replace(/\{\{[^}]*\}\}/g, "x");
  if (!/^https?:\/\/\S+$/i.test(value) || !URL.canParse(probe)) return "must be an http(s) URL";
  const url = new URL(probe);
  if (url.username || url.password) {
    return 'must not carry credentials (user:password@); send them in a header, e.g. headers: { "Authorization": "Basic {{SOURCE_AUTH}}" } with secrets: ["SOURCE_AUTH"]';
  }
  const origin = /^https?:\/\/[^/?#]*/i.exec(value)?.[0] ?? "";
  if (origin.includes("{{")) return "may use {{placeholders}} in its path and query only, not in its host";
  return null;
}

const httpUrl = z.string().superRefine((value, ctx) => {
  const problem = checkSourceUrl(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const secretName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a variable name (letters, digits, _)")
  .refine((name) => !(RESERVED_SECRETS as readonly string[]).includes(name), { message: `is the service's own secret; a source may not use ${RESERVED_SECRETS.join(" or ")}` });

const PaginationSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("none") }),
  z.strictObject({ type: z.literal("link-header") }),
  z.strictObject({ type: z.literal("next-url-field"), field: fieldPath }),
  z.strictObject({ type: z.literal("cursor-field"), field: fieldPath, param: z.string().min(1).max(100) }),
]);

const HttpSourceSchema = z
  .strictObject({
    type: z.literal("http"),
    name: z.string().min(1).max(100).optional(),
    url: httpUrl,
    format: z.enum(["json", "ndjson", "csv"]).default("json"),
    recordsPath: z.string().max(200).default(""),
    headers: z.record(z.string().min(1).max(200), z.string().max(4_000)).default({}),
    secrets: z.array(secretName).max(20).default([]),
    crossOrigin: z.enum(CROSS_ORIGIN_POLICIES).default("strip-headers"),
    pagination: PaginationSchema.default({ type: "none" }),
    maxPages: z.number().int().min(1).max(100_000).default(100),
    timeoutMs: ms(100, 300_000).optional(),
    csvDelimiter: z
      .string()
      .length(1, "must be one character")
      .refine((delimiter) => !/["\r\n]/.test(delimiter), { message: "may not be a quote or a line break" })
      .default(","),
    csvQuoteErrors: z.enum(CSV_QUOTE_POLICIES).default("fail"),
    csvMaxRecordLines: z.number().int().min(1).max(100_000).default(1),
  })
  .superRefine((source, ctx) => {
    const declared = new Set(source.secrets);
    const uses: [string[], string][] = [
      [placeholderNames(source.url), "url"],
      ...Object.entries(source.headers).map(([name, value]): [string[], string] => [placeholderNames(value), `headers.${name}`]),
    ];
    for (const [names, where] of uses) {
      for (const name of names) {
        if (!declared.has(name)) {
          ctx.addIssue({ code: "custom", path: where === "url" ? ["url"] : ["headers"], message: `${where} uses {{${name}}}, which is not in this source's secrets (add "secrets": ["${name}"])` });
        }
      }
    }
    const bodyPagination = source.pagination.type === "next-url-field" || source.pagination.type === "cursor-field";
    if (bodyPagination && source.format !== "json") {
      ctx.addIssue({ code: "custom", path: ["pagination"], message: `${source.pagination.type} pagination needs format "json"` });
    }
    if (bodyPagination && source.recordsPath === "") {
      ctx.addIssue({ code: "custom", path: ["recordsPath"], message: `${source.pagination.type} pagination needs recordsPath (the records array beside the ${source.pagination.type === "cursor-field" ? "cursor" : "next URL"})` });
    }
    if (source.recordsPath !== "" && source.format !== "json") {
      ctx.addIssue({ code: "custom", path: ["recordsPath"], message: 'recordsPath only applies to format "json"' });
    }
  });

const SourceSchema = z.discriminatedUnion("type", [
  HttpSourceSchema,
  z.strictObject({ type: z.literal("sample"), name: z.string().min(1).max(100).optional() }),
]);

/** PIPELINE_CONFIG: optional; every field has a default. Unknown keys are errors, not ignored. */
export const PipelineConfigSchema = z.strictObject({
  schedule: z
    .strictObject({
      timezone: z.string().min(1).max(64).default(DEFAULT_SCHEDULE.timezone),
      missedRuns: z.enum(["latest", "skip", "all"]).default(DEFAULT_SCHEDULE.missedRuns),
      maxCatchUp: z.number().int().min(1).max(100).default(DEFAULT_SCHEDULE.maxCatchUp),
      missedAfterMs: ms(0, 86_400_000).default(DEFAULT_SCHEDULE.missedAfterMs),
    })
    .prefault({}),
  sources: z.array(SourceSchema).min(1, "needs at least one source").max(10).optional(),
  fields: z
    .strictObject({
      id: fieldPath.default(DEFAULT_FIELDS.id),
      value: fieldPath.default(DEFAULT_FIELDS.value),
      timestamp: fieldPath.default(DEFAULT_FIELDS.timestamp),
      type: fieldPath.default(DEFAULT_FIELDS.type),
    })
    .prefault({}),
  thresholds: z
    .strictObject({ medium: z.number().finite().default(DEFAULT_THRESHOLDS.medium), high: z.number().finite().default(DEFAULT_THRESHOLDS.high) })
    .prefault({})
    .refine((thresholds) => thresholds.medium <= thresholds.high, { message: "medium must not be above high" }),
  validation: z
    .strictObject({
      value: z
        .strictObject({ min: z.number().finite().optional(), max: z.number().finite().optional() })
        .refine((range) => range.min === undefined || range.max === undefined || range.min <= range.max, { message: "min must not be above max" })
        .optional(),
      valueTypes: z.array(z.enum(["number", "string"])).min(1).default(["number", "string"]),
      allowedTypes: z.array(z.string().min(1)).min(1).optional(),
      requiredFields: z.array(fieldPath).default([]),
      rejectDuplicates: z.boolean().default(true),
    })
    .prefault({}),
  watermark: z.strictObject({ param: z.string().min(1).max(100), format: z.enum(["iso", "epoch-ms"]).default("iso") }).optional(),
  parallelism: z
    .strictObject({ transform: z.number().int().min(1).max(32).default(1), load: z.number().int().min(1).max(32).default(1) })
    .prefault({}),
  load: z.strictObject({ statementsPerBatch: z.number().int().min(1).max(1_000).default(100) }).prefault({}),
  retries: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(10).default(3),
      baseDelayMs: ms(0, 60_000).default(500),
      maxDelayMs: ms(0, 600_000).default(10_000),
    })
    .prefault({}),
  timeouts: z
    .strictObject({
      sourceMs: ms(100, 300_000).default(10_000),
      stageMs: ms(100, 3_600_000).default(600_000),
    })
    .prefault({}),
  recovery: z
    .strictObject({
      stallTimeoutMs: ms(100, 3_600_000).default(120_000),
      maxResumes: z.number().int().min(0).max(20).default(3),
      watchdogIntervalMs: ms(100, 3_600_000).default(30_000),
    })
    .prefault({}),
  history: z.strictObject({ maxRuns: z.number().int().min(1).max(100_000).default(1_000) }).prefault({}),
  chunkRecords: z.number().int().min(1).max(100_000).default(20_000),
  maxRecordBytes: z.number().int().min(1_024).max(32 * 1024 * 1024).default(DEFAULT_MAX_RECORD_BYTES),
});

export type PipelineConfig = z.infer<typeof PipelineConfigSchema>;

const EnvSchema = z.object({
  PIPELINE_CRON: z
    .string()
    .trim()
    .min(1, 'PIPELINE_CRON is empty; set a 5-field cron expression such as "0 3 * * *"'),
  PIPELINE_SOURCE_URL: z
    .string()
    .trim()
    .superRefine((value, ctx) => {
      if (value === "") return;
      if (!/^https?:\/\/[^\s]+$/i.test(value) || !URL.canParse(value)) {
        ctx.addIssue({ code: "custom", message: "PIPELINE_SOURCE_URL must be empty (built-in sample) or an http(s) URL" });
        return;
      }
      if (value.includes("{{")) {
        ctx.addIssue({ code: "custom", message: "PIPELINE_SOURCE_URL may not use {{placeholders}}; configure the source in PIPELINE_CONFIG.sources, with its secrets" });
        return;
      }
      const problem = checkSourceUrl(value);
      if (problem) ctx.addIssue({ code: "custom", message: `PIPELINE_SOURCE_URL ${problem}` });
    }),
  D1_DATABASE_NAME: z.string().trim().min(1, "D1_DATABASE_NAME is empty"),
  PIPELINE_CONFIG: z.unknown().optional(),
});

export type SettingsResult = { ok: true; settings: PipelineSettings } | { ok: false; errors: string[] };

/** Reads and checks the pipeline's settings from the Worker's variables. */
export function readSettings(env: Record<string, unknown>, pipeline: string): SettingsResult {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((issue) => issue.message) };
  const config = readConfig(parsed.data.PIPELINE_CONFIG);
  if (!config.ok) return config;
  const schedule: ScheduleSpec = { ...config.config.schedule, cron: parsed.data.PIPELINE_CRON, intervalMs: null, enabled: true };
  const cron = checkSchedule(schedule);
  if (!cron.ok) return { ok: false, errors: [`${cron.reason.startsWith("timezone") ? "PIPELINE_CONFIG.schedule" : "PIPELINE_CRON"}: ${cron.reason}`] };

  const { sources, fields, thresholds, validation, watermark, parallelism, load, retries, timeouts, recovery, history, chunkRecords, maxRecordBytes } = config.config;
  const url = parsed.data.PIPELINE_SOURCE_URL;
  if (url !== "" && sources) {
    return { ok: false, errors: ["set either PIPELINE_SOURCE_URL or PIPELINE_CONFIG.sources, not both"] };
  }
  let configured: z.infer<typeof SourceSchema>[];
  if (sources) configured = sources;
  else if (url === "") configured = [{ type: "sample" }];
  else {
    const shorthand = SourceSchema.safeParse({ type: "http", url });
    if (!shorthand.success) return { ok: false, errors: shorthand.error.issues.map((issue) => `PIPELINE_SOURCE_URL: ${issue.message}`) };
    configured = [shorthand.data];
  }
  return {
    ok: true,
    settings: {
      pipeline,
      schedule,
      sources: configured.map((source, index) => toSourceSettings(source, index, timeouts.sourceMs)),
      fields,
      thresholds,
      rules: { ...DEFAULT_RULES, ...validation, value: validation.value ?? {} },
      watermark: watermark ?? null,
      destination: `d1://${parsed.data.D1_DATABASE_NAME}/metrics`,
      chunkRecords,
      maxRecordBytes,
      parallelism,
      statementsPerBatch: load.statementsPerBatch,
      retry: retries,
      stageTimeoutMs: timeouts.stageMs,
      stall: { stallTimeoutMs: recovery.stallTimeoutMs, maxResumes: recovery.maxResumes },
      watchdogIntervalMs: recovery.watchdogIntervalMs,
      historyLimit: history.maxRuns,
    },
  };
}

function toSourceSettings(source: z.infer<typeof SourceSchema>, index: number, defaultTimeoutMs: number): SourceSettings {
  const name = source.name ?? (index === 0 ? "primary" : `fallback-${index}`);
  if (source.type === "sample") return { kind: "sample", name };
  return {
    kind: "http",
    name,
    url: source.url,
    format: source.format,
    recordsPath: source.recordsPath,
    headers: source.headers,
    secrets: source.secrets,
    crossOrigin: source.crossOrigin,
    pagination: source.pagination,
    maxPages: source.maxPages,
    timeoutMs: source.timeoutMs ?? defaultTimeoutMs,
    csvDelimiter: source.csvDelimiter,
    csvQuoteErrors: source.csvQuoteErrors,
    csvMaxRecordLines: source.csvMaxRecordLines,
  };
}

/** PIPELINE_CONFIG may be an object (from wrangler.jsonc) or JSON text (from `--var` or the dashboard). */
function readConfig(raw: unknown): { ok: true; config: PipelineConfig } | { ok: false; errors: string[] } {
  let value = raw ?? {};
  if (typeof value === "string") {
    if (value.trim() === "") value = {};
    else {
      try {
        value = JSON.parse(value);
      } catch (error) {
        return { ok: false, errors: [`PIPELINE_CONFIG is not valid JSON: ${error instanceof Error ? error.message : String(error)}`] };
      }
    }
  }
  const parsed = PipelineConfigSchema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => `PIPELINE_CONFIG${issue.path.map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)).join("")}: ${issue.message}`),
    };
  }
  return { ok: true, config: parsed.data };
}
