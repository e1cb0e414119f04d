import { Hono } from "hono";
import { ApiError } from "../http/errors";
import { deployment } from "../pipelines";
import { coordinatorOf } from "./context";
import { err } from "./docs";
import { Resource } from "./operation";
import { RunSchema } from "./responses";
import { RunIdParam } from "./schemas";

/**
 * `GET /api/runs/:id`: a run by its id alone. Run ids are kept per pipeline, so every pipeline's history is
 * asked (side by side); the run says which pipeline it belongs to. The same id in two pipelines (two manual
 * runs in the same millisecond) answers 409 naming them, with the path of each.
 */
export const runLookupRoutes = new Resource(new Hono<{ Bindings: Env }>()).add(
  {
    method: "get",
    path: "/api/runs/:id",
    summary: "A run by its id alone, whichever pipeline it belongs to",
    params: RunIdParam,
    responses: {
      200: { description: "The run (its `pipeline` says whose).", schema: RunSchema },
      400: err("Invalid id."),
      404: err("run_not_found: no pipeline has a run with this id."),
      409: err("ambiguous_run_id: more than one pipeline has a run with this id (`pipelines` names them)."),
    },
  },
  async (c) => {
  const { id } = c.req.valid("param");
  const pipelines = deployment.all().map((pipeline) => pipeline.name);
  const found = (await Promise.all(pipelines.map(async (name) => ({ name, run: await coordinatorOf(c.env, name).getRunJson(id) })))).filter((entry) => entry.run !== null);
  if (found.length === 0) throw new ApiError(404, "run_not_found", `no run with id ${JSON.stringify(id)} in any pipeline`);
  if (found.length > 1) {
    const where = found.map((entry) => entry.name);
    throw new ApiError(409, "ambiguous_run_id", `run id ${JSON.stringify(id)} is in more than one pipeline (${where.join(", ")}); ask /api/pipelines/<name>/runs/${encodeURIComponent(id)}`, { pipelines: where });
  }
  return c.body(found[0]!.run!, 200, { "content-type": "application/json" });
  },
);
