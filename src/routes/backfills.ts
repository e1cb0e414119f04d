import { countSlots, summarizeBackfill, type Backfill } from "../domain/backfill";
import { localIso } from "../domain/local-time";
import { ApiError } from "../http/errors";
import { coordinatorOf, pipelineApp, schedulerOf } from "./context";
import { backfillPath, runPath } from "../links";
import { checkedParams } from "./runs";
import { err, MISCONFIGURED, WITH_BODY } from "./docs";
import { Resource } from "./operation";
import { BackfillCancelResponse, BackfillResponse, BackfillsResponse, BackfillStarted } from "./responses";
import { BackfillBody, BackfillIdParam, HistoryQuery } from "./schemas";

/** Backfills listed at most (the newest). */
const LIST_LIMIT = 20;

/**
 * A pipeline's backfills: start one over a range of past time, follow it slot by slot, list them, cancel
 * one (it stops after its current run).
 */
export const backfillRoutes = new Resource(pipelineApp())
  .add(
    {
      method: "post",
      path: "/backfill",
      summary: "Backfill the pipeline's slots in [from, to), one run at a time",
      body: BackfillBody,
      responses: {
        202: { description: "Started (or queued behind the active run); follow statusUrl / Location. Dates in the body are the pipeline's days.", schema: BackfillStarted },
        409: err("backfill_in_progress: another backfill is running (its backfillId and statusUrl are in the body)."),
        ...MISCONFIGURED,
        ...WITH_BODY,
        400: err("invalid_body (from >= to, bad times, reprocess), invalid_params, too_many_slots (more than 1,000), or invalid_range (no slot, or slots in the future)."),
      },
    },
    async (c) => {
    const body = c.get("body");
    const params = checkedParams(c.var.pipeline, body.params);
    const result = await schedulerOf(c.env, c.var.pipeline).backfill({ from: body.from, to: body.to, reprocess: body.reprocess, params, cascade: body.cascade });
    switch (result.outcome) {
      case "misconfigured":
        throw new ApiError(503, "invalid_configuration", `the pipeline is misconfigured: ${result.errors.join("; ")}`);
      case "invalid":
        throw new ApiError(400, result.code, result.reason);
      case "conflict":
        throw new ApiError(409, "backfill_in_progress", `backfill ${result.active.backfillId} is still running; cancel it or wait for it to end`, {
          backfillId: result.active.backfillId,
          statusUrl: backfillPath(c.var.base, result.active.backfillId),
        });
      case "started": {
        const { backfill } = result;
        const statusUrl = backfillPath(c.var.base, backfill.backfillId);
        c.header("Location", statusUrl);
        const counts = countSlots(backfill);
        return c.json(
          {
            backfillId: backfill.backfillId,
            pipeline: backfill.pipeline,
            status: backfill.status,
            slots: backfill.slots.map((slot) => slot.scheduledFor),
            timezone: backfill.timezone,
            slotsLocal: backfill.slots.map((slot) => localIso(slot.scheduledFor, backfill.timezone)),
            toRun: counts.pending + counts.running + counts.succeeded + counts.failed,
            skipped: counts.skipped,
            cascade: backfill.cascade ?? null,
            statusUrl,
          },
          202,
        );
      }
    }
    },
  )
  .add(
    {
      method: "get",
      path: "/backfills",
      summary: "Backfills, newest first",
      query: HistoryQuery.pick({ limit: true }),
      responses: { 200: { description: "The newest backfills (at most limit, default 20), without their slots.", schema: BackfillsResponse }, 400: err("Invalid limit.") },
    },
    async (c) => {
    const backfills = await coordinatorOf(c.env, c.var.pipeline).listBackfills(c.req.valid("query").limit ?? LIST_LIMIT);
    return c.json({ backfills: backfills.map((backfill) => ({ ...backfill, ...localRange(backfill), statusUrl: backfillPath(c.var.base, backfill.backfillId) })) });
    },
  )
  .add(
    {
      method: "get",
      path: "/backfills/:id",
      summary: "One backfill's progress, slot by slot",
      params: BackfillIdParam,
      responses: { 200: { description: "The backfill.", schema: BackfillResponse }, 400: err("Invalid id."), 404: err("backfill_not_found.") },
    },
    async (c) => {
    const { id } = c.req.valid("param");
    const backfill = await coordinatorOf(c.env, c.var.pipeline).getBackfill(id);
    if (!backfill) throw backfillNotFound(id);
    return c.json(describe(backfill, c.var.pipeline, c.var.base));
    },
  )
  .add(
    {
      method: "post",
      path: "/backfills/:id/cancel",
      summary: "Stop a backfill after its current run",
      params: BackfillIdParam,
      responses: { 200: { description: "Cancelled; slots not started are cancelled.", schema: BackfillCancelResponse }, 400: err("Invalid id."), 404: err("backfill_not_found."), 409: err("backfill_not_active.") },
    },
    async (c) => {
    const { id } = c.req.valid("param");
    const result = await coordinatorOf(c.env, c.var.pipeline).cancelBackfill(id);
    switch (result.outcome) {
      case "not_found":
        throw backfillNotFound(id);
      case "not_active":
        throw new ApiError(409, "backfill_not_active", `backfill ${id} is not running (status ${result.backfill.status})`, { backfillId: id, status: result.backfill.status });
      case "cancelled":
        return c.json({ message: "Backfill cancelled; its current run finishes", ...describe(result.backfill, c.var.pipeline, c.var.base) });
    }
    },
  );

function describe(backfill: Backfill, pipeline: string, base: string) {
  return {
    ...summarizeBackfill(backfill),
    ...localRange(backfill),
    statusUrl: backfillPath(base, backfill.backfillId),
    slots: backfill.slots.map((slot) => ({ ...slot, scheduledForLocal: localIso(slot.scheduledFor, backfill.timezone), statusUrl: slot.runId === null ? null : runPath(pipeline, slot.runId, base) })),
  };
}

/** The backfill's range on the wall clock of the schedule its slots come from. */
function localRange(backfill: { from: number; to: number; timezone: string }) {
  return { fromLocal: localIso(backfill.from, backfill.timezone), toLocal: localIso(backfill.to, backfill.timezone) };
}

function backfillNotFound(id: string): ApiError {
  return new ApiError(404, "backfill_not_found", `no backfill with id ${JSON.stringify(id.slice(0, 100))}`);
}
