/** The pipeline's stages, in the order they run. */
export const STAGE_NAMES = ["extract", "transform", "load"] as const;

export type StageName = (typeof STAGE_NAMES)[number];

/** Stage agents are ephemeral and named after the run, so a stage's instance can be predicted from its run. */
export function stageInstanceName(runId: string, stage: StageName): string {
  return `${runId}:${stage}`;
}
