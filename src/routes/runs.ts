import type { Context } from "hono";
import type { z } from "zod";
import { encodePositionCursor } from "../domain/history";
import type { RunParams } from "../domain/run";
import type { RunView } from "../domain/run-view";
import { checkParams } from "../engine/params";
import { deployment } from "../pipelines";
import { ApiError } from "../http/errors";
import { coordinatorOf, pipelineApp, schedulerOf, type PipelineScope } from "./context";
import { runPath } from "../links";
import { err, MISCONFIGURED, WITH_BODY } from "./docs";
import { Resource } from "./operation";
import { CancelResponse, HistoryResponse, RejectedResponse, RetryResponse, RunSchema, TriggerResponse } from "./responses";
import { CancelBody, RetryBody, HISTORY_DEFAULT_LIMIT, HistoryQuery, REJECTED_DEFAULT_LIMIT, RejectedQuery, RunIdParam, TriggerBody, TriggerQuery } from "./schemas";

/** How long `?wait=true` holds the request before answering 202 with the run still running. */
export const WAIT_TIMEOUT_MS = 60_000;

function jsonText(c: Context, text: string): Response {
  return c.body(text, 200, { "content-type": "application/json" });
}

/**
 * A pipeline's runs: trigger one, read one (also while it runs), its rejected records, cancel it, the last
 * one, the history. Reads pass the coordinator's stored JSON through as text: the hottest paths, no parse
 * and re-serialise.
 */
export const runRoutes = new Resource(pipelineApp())
  .add(
    {
      method: "post",
      path: "/trigger",
      summary: "Start a run now",
      query: TriggerQuery,
      body: TriggerBody,
      responses: {
        200: { description: "With wait=true: the run finished; `run` holds it.", schema: TriggerResponse },
        202: { description: "Started (or still running after the wait); follow statusUrl / Location.", schema: TriggerResponse },
        409: err("Another run is active: run_in_progress, with its pipelineId and statusUrl."),
        ...MISCONFIGURED,
        ...WITH_BODY,
        400: err("invalid_query, invalid_body, or invalid_params (naming each parameter that does not fit the pipeline's params schema)."),
      },
    },
    async (c) => {
      const wait = c.req.valid("query").wait ?? false;
      const note = c.get("body").note ?? null;
      const params = checkedParams(c.var.pipeline, c.get("body").params);
      const result = await schedulerOf(c.env, c.var.pipeline).trigger({ wait, waitTimeoutMs: WAIT_TIMEOUT_MS, note, params });
      switch (result.outcome) {
        case "misconfigured":
          throw new ApiError(503, "invalid_configuration", `the pipeline is misconfigured: ${result.errors.join("; ")}`);
        case "conflict":
          throw runInProgress(c.var.pipeline, c.var.base, result.active, "trigger");
        case "started": {
          const { run } = result;
          const statusUrl = runPath(c.var.pipeline, run.pipelineId, c.var.base);
          c.header("Location", statusUrl);
          const body = { message: "Pipeline triggered", pipelineId: run.pipelineId, status: run.status, statusUrl } satisfies z.input<typeof TriggerResponse>;
          if (!wait) return c.json(body, 202);
          return c.json({ ...body, run }, run.status === "running" ? 202 : 200);
        }
      }
    },
  )
  .add(
    {
      method: "get",
      path: "/runs/:id",
      summary: "One run, also while it runs",
      params: RunIdParam,
      responses: { 200: { description: "The run.", schema: RunSchema }, 400: err("Invalid id."), 404: err("run_not_found.") },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const run = await coordinatorOf(c.env, c.var.pipeline).getRunJson(id);
      if (run === null) throw runNotFound(id);
      return jsonText(c, run);
    },
  )
  .add(
    {
      method: "get",
      path: "/runs/:id/rejected",
      summary: "A run's rejected records, with their raw form",
      params: RunIdParam,
      query: RejectedQuery,
      responses: { 200: { description: "One page, in position order.", schema: RejectedResponse }, 400: err("Invalid query."), 404: err("run_not_found.") },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const { limit, cursor } = c.req.valid("query");
      const page = await coordinatorOf(c.env, c.var.pipeline).listRejected(id, cursor ?? -1, limit ?? REJECTED_DEFAULT_LIMIT);
      if (!page.found) throw runNotFound(id);
      return c.json({ pipelineId: id, rejected: page.records, nextCursor: page.nextPosition === null ? null : encodePositionCursor(page.nextPosition) } satisfies z.input<typeof RejectedResponse>);
    },
  )
  .add(
    {
      method: "post",
      path: "/runs/:id/cancel",
      summary: "Cancel an active run",
      params: RunIdParam,
      body: CancelBody,
      responses: {
        200: { description: "Cancelled; the run keeps the counts it reached, and `loaded` is what the table holds of it.", schema: CancelResponse },
        404: err("run_not_found."),
        409: err("run_not_active, with the run's status."),
        ...WITH_BODY,
      },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const reason = c.get("body").reason ?? "requested through the API";
      const result = await coordinatorOf(c.env, c.var.pipeline).cancelRun(id, reason);
      switch (result.outcome) {
        case "not_found":
          throw runNotFound(id);
        case "not_active":
          throw new ApiError(409, "run_not_active", `run ${id} is not running (status ${result.run.status})`, { pipelineId: id, status: result.run.status });
        case "cancelled":
          return c.json({ message: "Run cancelled", pipelineId: id, status: result.run.status, run: result.run });
      }
    },
  )
  .add(
    {
      method: "post",
      path: "/runs/:id/retry",
      summary: "Retry a failed or cancelled run from the stage that failed",
      params: RunIdParam,
      query: TriggerQuery,
      body: RetryBody,
      responses: {
        200: { description: "With wait=true: the retry finished; `run` holds it.", schema: RetryResponse },
        202: { description: "Started as a new run (`retry` says from which stage and what it reused); follow statusUrl / Location.", schema: RetryResponse },
        404: err("run_not_found."),
        409: err("run_not_retryable (it succeeded, is running, or was skipped), run_in_progress (another run is active), checks_not_reusable (acceptChecks, but the checked batch would be transformed again), or batch_superseded (acceptChecks, but a later run succeeded: the old batch would be written over its rows)."),
        ...MISCONFIGURED,
        400: err("Invalid id, query or body; checks_not_failed (acceptChecks names a check that did not fail, or the run did not fail its checks)."),
      },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const wait = c.req.valid("query").wait ?? false;
      const { fromStage, acceptChecks } = c.get("body");
      const result = await coordinatorOf(c.env, c.var.pipeline).retryRun(id, {
        ...(wait ? { waitMs: WAIT_TIMEOUT_MS } : {}),
        ...(fromStage ? { fromStage } : {}),
        ...(acceptChecks ? { acceptChecks, by: c.get("tokenLabel") ?? null } : {}),
      });
      switch (result.outcome) {
        case "not_found":
          throw runNotFound(id);
        case "not_retryable":
          throw new ApiError(409, "run_not_retryable", result.reason, { pipelineId: id, status: result.run.status });
        case "conflict":
          throw runInProgress(c.var.pipeline, c.var.base, result.active, "retry");
        case "misconfigured":
          throw new ApiError(503, "invalid_configuration", `the pipeline is misconfigured: ${result.errors.join("; ")}`);
        case "refused":
          throw new ApiError(result.status, result.code, result.reason, { pipelineId: id });
        case "started": {
          const { run } = result;
          const statusUrl = runPath(c.var.pipeline, run.pipelineId, c.var.base);
          c.header("Location", statusUrl);
          const body = { message: `Retry of ${id} started from ${run.retry!.fromStage}`, pipelineId: run.pipelineId, status: run.status, statusUrl, retry: run.retry! };
          if (!wait) return c.json(body, 202);
          return c.json({ ...body, run }, run.status === "running" ? 202 : 200);
        }
      }
    },
  )
  .add(
    { method: "get", path: "/last", summary: "The most recent finished run", responses: { 200: { description: "The run, or null before any run finished.", schema: RunSchema.nullable() } } },
    async (c) => jsonText(c, await coordinatorOf(c.env, c.var.pipeline).getLastRunJson()),
  )
  .add(
    { method: "get", path: "/history", summary: "Runs, newest first, with a summary", query: HistoryQuery, responses: { 200: { description: "One page.", schema: HistoryResponse }, 400: err("Invalid query.") } },
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      return jsonText(c, await coordinatorOf(c.env, c.var.pipeline).getHistoryJson(limit ?? HISTORY_DEFAULT_LIMIT, cursor ?? null));
    },
  );

/** 409 while a run is active: one run at a time per pipeline. */
function runInProgress(pipeline: string, base: string, active: RunView, again: "trigger" | "retry"): ApiError {
  const backfill = active.backfillId ? ` (backfill ${active.backfillId}, whose next run starts when this one ends)` : "";
  return new ApiError(409, "run_in_progress", `run ${active.pipelineId}${backfill} is still running; ${again} again when it has finished`, {
    pipelineId: active.pipelineId,
    statusUrl: runPath(pipeline, active.pipelineId, base),
  });
}

/** The trigger's params checked against the pipeline's params schema: 400 naming each field that does not fit. */
export function checkedParams(pipeline: string, given: Record<string, unknown> | undefined): RunParams {
  const checked = checkParams(deployment.find(pipeline)!, given);
  if (checked.ok) return checked.params;
  throw new ApiError(400, "invalid_params", `invalid params: ${checked.problems.map((problem) => `${problem.field}: ${problem.message}`).join("; ")}`);
}

function runNotFound(id: string): ApiError {
  return new ApiError(404, "run_not_found", `no run with id ${JSON.stringify(id)}`);
}

export type { PipelineScope };
