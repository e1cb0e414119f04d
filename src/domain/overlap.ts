import type { Run } from "./run";

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
