import type { z } from "zod";
import { resolveChecks } from "../engine/checks";
import { ApiError } from "../http/errors";
import { deployment } from "../pipelines";
import { coordinatorOf, pipelineApp } from "./context";
import { err } from "./docs";
import { Resource } from "./operation";
import { CheckHistoryResponse } from "./responses";
import { CHECKS_DEFAULT_LIMIT, ChecksQuery } from "./schemas";

/**
 * A pipeline's dataset checks across runs: each check it declares, with its newest results (outcome,
 * expected, found, offending, who accepted a failure), read from the coordinator's run history. A
 * pipeline without checks answers an empty list.
 */
export const checkRoutes = new Resource(pipelineApp()).add(
  {
    method: "get",
    path: "/checks",
    summary: "Each declared dataset check with its newest results across runs",
    query: ChecksQuery,
    responses: {
      200: { description: "The checks in the order the pipeline declares them, each with its newest results first.", schema: CheckHistoryResponse },
      400: err("Invalid query."),
      404: err("check_not_found: the pipeline declares no check of that name (the message lists those it does)."),
    },
  },
  async (c) => {
    const { limit, check } = c.req.valid("query");
    if (check !== undefined) {
      const names = resolveChecks(deployment.require(c.var.pipeline).checks).map((declared) => declared.name);
      if (!names.includes(check)) {
        const declared = names.length === 0 ? "it declares none" : `it declares ${names.join(", ")}`;
        throw new ApiError(404, "check_not_found", `pipeline ${c.var.pipeline} declares no check named ${JSON.stringify(check)} (${declared})`);
      }
    }
    const view = await coordinatorOf(c.env, c.var.pipeline).getCheckHistory(limit ?? CHECKS_DEFAULT_LIMIT, check ?? null);
    return c.json(view satisfies z.input<typeof CheckHistoryResponse>);
  },
);
