import { StageFailure } from "../domain/failures";
import type { Pipeline } from "./define-pipeline";
import { findPipeline } from "./registry";

/** The pipeline a run belongs to; a run of one removed from the code since it started cannot go on. */
export function pipelineOfRun(name: string): Pipeline {
  const pipeline = findPipeline(name);
  if (!pipeline) throw new StageFailure(`pipeline ${name} is no longer defined in this deployment`, "permanent");
  return pipeline;
}
