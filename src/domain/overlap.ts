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
 * What extract attempt `attempt` staged, once the run has recorded it succeeded; null before that, or when
 * another attempt is the run's. A follower whose extract agent was reset after it ended (its feed, in the
 * agent's memory, gone with it) reads the output from the run instead.
 */
export function extractOutputOf(run: Run, attempt: number): StagedData | null {
  const extract = run.stages.find((stage) => stage.name === "extract");
  if (extract?.status !== "succeeded" || extract.attempts !== attempt) return null;
  return run.checkpoints.extract?.output[0] ?? null;
}
