import type { Run } from "./run";
import type { StagedData } from "./staged-data";

/**
 * Whether transform starts beside this extract attempt, on its chunks as they are staged: only a first
 * extract attempt of a run whose transform has never run, with one transform agent (shards split the
 * finished output by chunk ranges, which are not known before extract ends) and overlap not turned off.
 * Retries and resumed runs go stage by stage from their checkpoints.
 */
export function transformFollows(run: Run, settings: { overlap?: boolean; parallelism: { transform: number } }, extractAttempt: number): boolean {
  const transform = run.stages.find((stage) => stage.name === "transform");
  return settings.overlap === true && settings.parallelism.transform === 1 && extractAttempt === 1 && transform !== undefined && transform.status === "pending" && transform.attempts === 0;
}

/**
 * Whether load starts beside this transform attempt, on its chunks of rows as they are staged, written
 * aside in the destination's staging until the load's turn: a first transform attempt with one transform
 * and one load agent, a load that has never run, a destination that can hold rows aside, overlap on.
 */
export function loadFollows(run: Run, settings: { overlap?: boolean; parallelism: { transform: number; load: number } }, transformAttempt: number, canStage: boolean): boolean {
  const load = run.stages.find((stage) => stage.name === "load");
  return canStage && settings.overlap === true && settings.parallelism.transform === 1 && settings.parallelism.load === 1 && transformAttempt === 1 && load !== undefined && load.status === "pending" && load.attempts === 0;
}

/**
 * What extract attempt `attempt` staged, once the run has recorded it succeeded; null before that, or when
 * another attempt is the run's. A follower whose extract agent was reset after it ended (its feed, in the
 * agent's memory, gone with it) reads the output from the run instead.
 */
export function extractOutputOf(run: Run, attempt: number): StagedData | null {
  const extract = run.stages.find((stage) => stage.name === "extract");
  if (extract?.status !== "succeeded" || extract.attempts !== attempt) return null;
  return run.checkpoints.extract?.output[0] ?? null;
}
