import { destinationKindOf } from "../destinations";
import { resolveSettings } from "../engine/settings";
import { ApiError } from "../http/errors";
import { deployment } from "../pipelines";
import { pipelineApp } from "./context";
import { err, MISCONFIGURED } from "./docs";
import { Resource } from "./operation";
import { DatasetResponse } from "./responses";
import { DatasetFileParam } from "./schemas";

/** A pipeline's dataset (a destination that writes files): its partitions and the files its manifests name. */
export const datasetRoutes = new Resource(pipelineApp())
  .add(
  {
    method: "get",
    path: "/dataset",
    summary: "The dataset's partitions and live files, as its manifests name them",
    responses: { 200: { description: "The partitions, in key order.", schema: DatasetResponse }, 409: err("not_a_dataset: the pipeline loads into a table."), ...MISCONFIGURED },
  },
  async (c) => {
    const { destination, kind } = datasetOf(c.env, c.var.pipeline);
    return c.json(await kind.contents!(destination, c.env as unknown as Record<string, unknown>));
  },
)
  .add(
    {
      method: "get",
      path: "/dataset/files/:key{.+}",
      summary: "One file of the dataset (as GET …/dataset lists it), for any Parquet reader",
      params: DatasetFileParam,
      responses: { 200: { description: "The file's bytes (application/vnd.apache.parquet)." }, 404: err("file_not_found: no such file in the dataset."), 409: err("not_a_dataset: the pipeline loads into a table."), ...MISCONFIGURED },
    },
    async (c) => {
      const { key } = c.req.valid("param");
      const { destination, kind } = datasetOf(c.env, c.var.pipeline);
      const file = await kind.file!(destination, c.env as unknown as Record<string, unknown>, key);
      if (!file) throw new ApiError(404, "file_not_found", `the dataset ${destination.uri} has no file ${JSON.stringify(key.slice(0, 200))} (GET …/dataset lists them)`);
      return new Response(file.body, { headers: { "content-type": file.contentType, "content-length": String(file.size) } });
    },
  );

function datasetOf(env: Env, pipeline: string) {
  const resolved = resolveSettings(deployment.require(pipeline), env as unknown as Record<string, unknown>);
  if (!resolved.ok) throw new ApiError(503, "invalid_configuration", `the pipeline is misconfigured: ${resolved.errors.join("; ")}`);
  const { destination } = resolved.settings;
  const kind = destinationKindOf(destination);
  if (!kind.contents || !kind.file) throw new ApiError(409, "not_a_dataset", `pipeline ${pipeline} loads into ${destination.uri}, not a dataset of files`);
  return { destination, kind };
}
