import { Hono, type MiddlewareHandler } from "hono";
import { ApiError } from "../http/errors";
import { DEFAULT_PIPELINE, findPipeline } from "../engine/registry";

/** What every per-pipeline handler knows: which pipeline, and the path its API lives under. */
export interface PipelineScope {
  Bindings: Env;
  Variables: { pipeline: string; base: string };
}

export const pipelineApp = () => new Hono<PipelineScope>();

/** `/api/pipeline/*`: the seed's path, for the default pipeline. */
export const defaultPipeline: MiddlewareHandler<PipelineScope> = async (c, next) => {
  c.set("pipeline", DEFAULT_PIPELINE);
  c.set("base", "/api/pipeline");
  await next();
};

/** `/api/pipelines/:name/*`: a pipeline this deployment defines, or 404 pipeline_not_found. */
export const namedPipeline: MiddlewareHandler<PipelineScope> = async (c, next) => {
  const name = c.req.param("name") ?? "";
  if (!findPipeline(name)) {
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
