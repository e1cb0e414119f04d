import { z } from "zod";
import { DEFAULT_THRESHOLDS, type CategoryThresholds } from "../domain/categories";
import { checkSchedule, type ScheduleSpec } from "../domain/schedule";

/** Where the extract stage reads records from. */
export type SourceSettings =
  | { kind: "sample" }
  | { kind: "http"; url: string; timeoutMs: number };

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
}

export const SOURCE_TIMEOUT_MS = 10_000;
export const CHUNK_RECORDS = 5_000;

const EnvSchema = z.object({
  PIPELINE_CRON: z
    .string()
    .trim()
    .min(1, "PIPELINE_CRON is empty; set a 5-field cron expression such as \"0 3 * * *\""),
  PIPELINE_SOURCE_URL: z
    .string()
    .trim()
    .refine((value) => value === "" || /^https?:\/\/[^\s]+$/i.test(value) && URL.canParse(value), {
      message: "PIPELINE_SOURCE_URL must be empty (built-in sample) or an http(s) URL",
    }),
  D1_DATABASE_NAME: z.string().trim().min(1, "D1_DATABASE_NAME is empty"),
});

export type SettingsResult = { ok: true; settings: PipelineSettings } | { ok: false; errors: string[] };

/** Reads and checks the pipeline's settings from the Worker's variables. */
export function readSettings(env: Record<string, unknown>, pipeline: string): SettingsResult {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((issue) => issue.message) };
  const schedule: ScheduleSpec = { cron: parsed.data.PIPELINE_CRON, timezone: "UTC" };
  const cron = checkSchedule(schedule);
  if (!cron.ok) return { ok: false, errors: [`PIPELINE_CRON: ${cron.reason}`] };
  const url = parsed.data.PIPELINE_SOURCE_URL;
  return {
    ok: true,
    settings: {
      pipeline,
      schedule,
      source: url === "" ? { kind: "sample" } : { kind: "http", url, timeoutMs: SOURCE_TIMEOUT_MS },
      thresholds: DEFAULT_THRESHOLDS,
      destination: `d1://${parsed.data.D1_DATABASE_NAME}/metrics`,
      chunkRecords: CHUNK_RECORDS,
    },
  };
}
