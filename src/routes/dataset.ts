import { destinationKindOf } from "../destinations";
import { resolveSettings } from "../engine/settings";
import { ApiError } from "../http/errors";
import { deployment } from "../pipelines";
import { pipelineApp } from "./context";
import { err, MISCONFIGURED } from "./docs";
import { Resource } from "./operation";
import { DatasetResponse } from "./responses";

/** A pipeline's dataset (a destination that writes files): its partitions and the files its manifests name. */
export const datasetRoutes = new Resource(pipelineApp()).add(
  {
    method: "get",
    path: "/dataset",
    summary: "The dataset's partitions and live files, as its manifests name them",
    responses: { 200: { description: "The partitions, in key order.", schema: DatasetResponse }, 409: err("not_a_dataset: the pipeline loads into a table."), ...MISCONFIGURED },
  },
  async (c) => {
    const resolved = resolveSettings(deployment.require(c.var.pipeline), c.env as unknown as Record<string, unknown>);
    if (!resolved.ok) throw new ApiError(503, "invalid_configuration", `the pipeline is misconfigured: ${resolved.errors.join("; ")}`);
    const { destination } = resolved.settings;
    const kind = destinationKindOf(destination);
    if (!kind.contents) throw new ApiError(409, "not_a_dataset", `pipeline ${c.var.pipeline} loads into ${destination.uri}, not a dataset of files`);
    return c.json(await kind.contents(destination, c.env as unknown as Record<string, unknown>));
  },
);
