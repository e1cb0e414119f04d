/** The pipeline's stages, in the order they run. */
export const STAGE_NAMES = ["extract", "transform", "load"] as const;

export type StageName = (typeof STAGE_NAMES)[number];

/**
 * A run as the whole deployment names it: its pipeline and its id (run ids are only unique within a
 * pipeline: two pipelines triggered in the same millisecond both have `manual-<ms>`). Stage agents and
 * staged objects are named after it, so they can be predicted from the run and never collide.
 */
export function runKey(pipeline: string, runId: string): string {
  return `${pipeline}/${runId}`;
}

/** Stage agents are ephemeral and named after the run: `<pipeline>/<runId>:<stage>`. */
export function stageInstanceName(key: string, stage: StageName): string {
  return `${key}:${stage}`;
}
