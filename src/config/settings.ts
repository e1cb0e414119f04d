import { z } from "zod";
import type { BackoffPolicy } from "../domain/backoff";
import { DEFAULT_THRESHOLDS, type CategoryThresholds } from "../domain/categories";
import type { StallPolicy } from "../domain/run";
import { checkSchedule, type ScheduleSpec } from "../domain/schedule";

/** Where the extract stage reads records from. */
export type SourceSettings = { kind: "sample" } | { kind: "http"; url: string; timeoutMs: number };

export interface RetrySettings extends BackoffPolicy {
  /** Attempts per stage, the first included. */
  maxAttempts: number;
}

/**
 * Everything a run needs to know about its pipeline. Resolved once when a run starts and stored with it,
 * so a run that resumes after a restart uses the settings it started with.
 */
export interface PipelineSettings {
  pipeline: string;
  schedule: ScheduleSpec;
  source: SourceSettings;
  thresholds: CategoryThresholds;
  /** Human-readable load target, e.g. d1://scheduled-pipeline/metrics. */
  destination: string;
  /** Records per staged chunk. */
  chunkRecords: number;
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

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

/** PIPELINE_CONFIG: optional tuning, every field with a default. Unknown keys are errors, not ignored. */
export const PipelineConfigSchema = z.strictObject({
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
  chunkRecords: z.number().int().min(1).max(100_000).default(5_000),
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
    .refine((value) => value === "" || (/^https?:\/\/[^\s]+$/i.test(value) && URL.canParse(value)), {
      message: "PIPELINE_SOURCE_URL must be empty (built-in sample) or an http(s) URL",
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
  const schedule: ScheduleSpec = { cron: parsed.data.PIPELINE_CRON, timezone: "UTC" };
  const cron = checkSchedule(schedule);
  if (!cron.ok) return { ok: false, errors: [`PIPELINE_CRON: ${cron.reason}`] };
  const url = parsed.data.PIPELINE_SOURCE_URL;
  const { retries, timeouts, recovery, history, chunkRecords } = config.config;
  return {
    ok: true,
    settings: {
      pipeline,
      schedule,
      source: url === "" ? { kind: "sample" } : { kind: "http", url, timeoutMs: timeouts.sourceMs },
      thresholds: DEFAULT_THRESHOLDS,
      destination: `d1://${parsed.data.D1_DATABASE_NAME}/metrics`,
      chunkRecords,
      retry: retries,
      stageTimeoutMs: timeouts.stageMs,
      stall: { stallTimeoutMs: recovery.stallTimeoutMs, maxResumes: recovery.maxResumes },
      watchdogIntervalMs: recovery.watchdogIntervalMs,
      historyLimit: history.maxRuns,
    },
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
      errors: parsed.error.issues.map((issue) => `PIPELINE_CONFIG${issue.path.map((key) => `.${String(key)}`).join("")}: ${issue.message}`),
    };
  }
  return { ok: true, config: parsed.data };
}
