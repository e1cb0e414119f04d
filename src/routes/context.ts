import { Hono, type MiddlewareHandler } from "hono";
import { ApiError } from "../http/errors";
import { DEFAULT_PIPELINE } from "../engine/deployment";
import { deployment } from "../pipelines";

/** What every per-pipeline handler knows: which pipeline, and the path its API lives under. */
export interface PipelineScope {
  Bindings: Env;
  Variables: { pipeline: string; base: string; tokenLabel?: string | null };
}

export const pipelineApp = () => new Hono<PipelineScope>();

/** A pipeline whose definition was set aside when the deployment loaded answers with its errors. */
function refuseInvalid(name: string): void {
  const invalid = deployment.invalidNamed(name);
  if (invalid) throw new ApiError(503, "invalid_definition", `the definition of pipeline ${name} is invalid: ${invalid.errors.join("; ")}`);
}

/** `/api/pipeline/*`: the seed's path, for the default pipeline. */
export const defaultPipeline: MiddlewareHandler<PipelineScope> = async (c, next) => {
  refuseInvalid(DEFAULT_PIPELINE);
  c.set("pipeline", DEFAULT_PIPELINE);
  c.set("base", "/api/pipeline");
  await next();
};

/** `/api/pipelines/:name/*`: a pipeline this deployment defines, or 404 pipeline_not_found. */
export const namedPipeline: MiddlewareHandler<PipelineScope> = async (c, next) => {
  const name = c.req.param("name") ?? "";
  refuseInvalid(name);
  if (!deployment.find(name)) {
    throw new ApiError(404, "pipeline_not_found", `no pipeline named ${JSON.stringify(name.slice(0, 100))} (GET /api/pipelines lists them)`);
  }
  c.set("pipeline", name);
  c.set("base", `/api/pipelines/${encodeURIComponent(name)}`);
  await next();
};

/** The pipeline's scheduler: triggers and schedule changes go through it. */
export const schedulerOf = (env: Env, pipeline: string) => env.PipelineScheduler.getByName(pipeline);

/** The pipeline's coordinator: reads go straight to the run history, one hop. */
export const coordinatorOf = (env: Env, pipeline: string) => env.PipelineCoordinator.getByName(pipeline);
