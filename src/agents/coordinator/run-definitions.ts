import { adoptDefinition, changedStage, runDefinition, type RunDefinition, type StageFingerprints, type WorkerVersion } from "../../domain/definition";
import type { Run } from "../../domain/run";
import { fingerprints } from "../../engine/fingerprint";
import type { PipelineSettings, SettingsResult } from "../../engine/settings";
import { deployment } from "../../pipelines";

/** The Worker's version as the platform tells it (CF_VERSION_METADATA); null when it gives none. */
export function workerVersion(env: Env): WorkerVersion | null {
  const metadata = (env as Partial<Env>).CF_VERSION_METADATA;
  if (!metadata || typeof metadata.id !== "string" || metadata.id === "") return null;
  return { id: metadata.id, tag: metadata.tag ? metadata.tag : null };
}

/** The definition a run starting now works under. */
export function definitionNow(env: Env, pipeline: string, settings: PipelineSettings): RunDefinition {
  return runDefinition(fingerprints(deployment.require(pipeline), settings), workerVersion(env));
}

/** The first stage a retry of `original` must run again because the definition changed since, if any. */
export function retryChange(original: Run, current: RunDefinition): "extract" | "transform" | null {
  return changedStage(original.definition?.stages, current.stages);
}

/**
 * A run picked up again meets the code deployed now. Its settings were stored when it started and stand
 * (a variable changed since does not reach it), unless the code changed: then it goes on under the
 * definition as it is now, settings resolved again (in the run's time zone), and starts over from the
 * first stage whose output would differ (see adoptDefinition). A definition that no longer resolves
 * cannot go on: the reason is returned.
 */
export function adoptCurrent(env: Env, run: Run, settings: PipelineSettings, resolveNow: () => SettingsResult, now: number): { run: Run; settings: PipelineSettings } | { reason: string } {
  const pipeline = deployment.find(run.pipeline);
  if (!pipeline) return { reason: `pipeline ${run.pipeline} is no longer defined in this deployment` };
  const sameSettings: StageFingerprints = fingerprints(pipeline, settings);
  if (!run.definition || changedStage(run.definition.stages, sameSettings) === null) return { run: run.definition ? run : { ...run, definition: runDefinition(sameSettings, workerVersion(env)) }, settings };
  const resolved = resolveNow();
  if (!resolved.ok) return { reason: `the definition changed while the run was under way and no longer resolves: ${resolved.errors.join("; ")}` };
  const current = { ...resolved.settings, schedule: { ...resolved.settings.schedule, timezone: settings.schedule.timezone } };
  return { run: adoptDefinition(run, { stages: fingerprints(pipeline, current), workerVersion: workerVersion(env) }, now), settings: current };
}
