import { z } from "zod";
import { DEFAULT_RETRY_POLICIES, RETRY_POLICY_NAMES, type RetryPolicies } from "../domain/retry-policy";

/**
 * How hard a pipeline's runs work and how patient they are. Every knob has a default, a pipeline file
 * may change any of them (`tuning`), and a deployment may change them again through the pipeline's config
 * variable, without a code change.
 */
export interface Tuning {
  /** Records per staged chunk (about 2 MB for typical records). */
  chunkRecords: number;
  /** A record (NDJSON line, JSON element, CSV row) larger than this is rejected without being held. */
  maxRecordBytes: number;
  /** Stage agents working side by side: transform over chunks, load over key buckets. */
  parallelism: { transform: number; load: number };
  /** Multi-row statements per D1 batch (one transaction). */
  load: { statementsPerBatch: number };
  /**
   * Transform starts on each chunk as soon as extract has staged it, instead of after extract (first
   * attempts, one transform agent; retries and resumed runs go stage by stage from their checkpoints).
   */
  overlap: boolean;
  /** Named retry policies: stage attempts, source requests, alert posts (domain/retry-policy.ts). */
  retries: RetryPolicies;
  timeouts: { sourceMs: number; stageMs: number };
  recovery: { stallTimeoutMs: number; maxResumes: number; watchdogIntervalMs: number };
  /**
   * `maxRuns`: runs kept in history. `keepFailedStagingMs`: how long a failed or cancelled run's staged
   * data is kept, so a retry can start from the stage that failed instead of reading the source again.
   */
  history: { maxRuns: number; keepFailedStagingMs: number };
}

export const DEFAULT_TUNING: Tuning = {
  chunkRecords: 20_000,
  maxRecordBytes: 1024 * 1024,
  parallelism: { transform: 1, load: 1 },
  load: { statementsPerBatch: 100 },
  overlap: true,
  retries: DEFAULT_RETRY_POLICIES,
  timeouts: { sourceMs: 10_000, stageMs: 600_000 },
  recovery: { stallTimeoutMs: 120_000, maxResumes: 3, watchdogIntervalMs: 30_000 },
  history: { maxRuns: 1_000, keepFailedStagingMs: 7 * 86_400_000 },
};

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

/** Any part of the tuning: what a pipeline file or a config variable may set. */
export const TuningShape = {
  chunkRecords: z.number().int().min(1).max(100_000).optional(),
  maxRecordBytes: z.number().int().min(1_024).max(32 * 1024 * 1024).optional(),
  parallelism: z.strictObject({ transform: z.number().int().min(1).max(32).optional(), load: z.number().int().min(1).max(32).optional() }).optional(),
  load: z.strictObject({ statementsPerBatch: z.number().int().min(1).max(1_000).optional() }).optional(),
  overlap: z.boolean().optional(),
  // The flat keys set every policy; a named one (stage, source, alerts) then changes that one alone.
  retries: z
    .strictObject({
      ...policyShape(),
      ...Object.fromEntries(RETRY_POLICY_NAMES.map((name) => [name, z.strictObject(policyShape()).optional()])),
    })
    .optional(),
  timeouts: z.strictObject({ sourceMs: ms(100, 300_000).optional(), stageMs: ms(100, 3_600_000).optional() }).optional(),
  recovery: z
    .strictObject({ stallTimeoutMs: ms(100, 3_600_000).optional(), maxResumes: z.number().int().min(0).max(20).optional(), watchdogIntervalMs: ms(100, 3_600_000).optional() })
    .optional(),
  history: z.strictObject({ maxRuns: z.number().int().min(1).max(100_000).optional(), keepFailedStagingMs: ms(0, 90 * 86_400_000).optional() }).optional(),
};
export const TuningSchema = z.strictObject(TuningShape);
export type TuningInput = z.input<typeof TuningSchema>;

/** Later layers win, key by key: defaults, then the pipeline file, then the deployment's variable. */
export function mergeTuning(...layers: (TuningInput | undefined)[]): Tuning {
  let tuning = structuredClone(DEFAULT_TUNING);
  for (const layer of layers) {
    if (!layer) continue;
    tuning = {
      chunkRecords: layer.chunkRecords ?? tuning.chunkRecords,
      maxRecordBytes: layer.maxRecordBytes ?? tuning.maxRecordBytes,
      parallelism: { ...tuning.parallelism, ...defined(layer.parallelism) },
      load: { ...tuning.load, ...defined(layer.load) },
      overlap: layer.overlap ?? tuning.overlap,
      retries: mergeRetries(tuning.retries, layer.retries),
      timeouts: { ...tuning.timeouts, ...defined(layer.timeouts) },
      recovery: { ...tuning.recovery, ...defined(layer.recovery) },
      history: { ...tuning.history, ...defined(layer.history) },
    };
  }
  return tuning;
}

function policyShape() {
  return { maxAttempts: z.number().int().min(1).max(10).optional(), baseDelayMs: ms(0, 60_000).optional(), maxDelayMs: ms(0, 600_000).optional() };
}

type PolicyInput = { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number };

function mergeRetries(current: RetryPolicies, layer: (PolicyInput & Partial<Record<(typeof RETRY_POLICY_NAMES)[number], PolicyInput>>) | undefined): RetryPolicies {
  if (!layer) return current;
  const flat = defined({ maxAttempts: layer.maxAttempts, baseDelayMs: layer.baseDelayMs, maxDelayMs: layer.maxDelayMs });
  return Object.fromEntries(RETRY_POLICY_NAMES.map((name) => [name, { ...current[name], ...flat, ...defined(layer[name]) }])) as RetryPolicies;
}

function defined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
