import { countSlots, summarizeBackfill, type Backfill } from "../domain/backfill";
import { localIso } from "../domain/local-time";
import { ApiError } from "../http/errors";
import { optionalJsonBody } from "../http/json-body";
import { validate } from "../http/validate";
import { coordinatorOf, pipelineApp, schedulerOf } from "./context";
import { backfillPath, runPath } from "../links";
import { checkedParams } from "./runs";
import { BackfillBody, BackfillIdParam, HistoryQuery } from "./schemas";

/** Backfills listed at most (the newest). */
const LIST_LIMIT = 20;

/**
 * A pipeline's backfills: start one over a range of past time, follow it slot by slot, list them, cancel
 * one (it stops after its current run).
 */
export const backfillRoutes = pipelineApp()
  .post("/backfill", optionalJsonBody(BackfillBody), async (c) => {
    const body = c.get("body");
    const params = checkedParams(c.var.pipeline, body.params);
    const result = await schedulerOf(c.env, c.var.pipeline).backfill({ from: body.from, to: body.to, reprocess: body.reprocess, params });
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
            statusUrl,
          },
          202,
        );
      }
    }
  })
  .get("/backfills", validate("query", HistoryQuery.pick({ limit: true })), async (c) => {
    const backfills = await coordinatorOf(c.env, c.var.pipeline).listBackfills(c.req.valid("query").limit ?? LIST_LIMIT);
    return c.json({ backfills: backfills.map((backfill) => ({ ...backfill, ...localRange(backfill), statusUrl: backfillPath(c.var.base, backfill.backfillId) })) });
  })
  .get("/backfills/:id", validate("param", BackfillIdParam), async (c) => {
    const { id } = c.req.valid("param");
    const backfill = await coordinatorOf(c.env, c.var.pipeline).getBackfill(id);
    if (!backfill) throw backfillNotFound(id);
    return c.json(describe(backfill, c.var.pipeline, c.var.base));
  })
  .post("/backfills/:id/cancel", validate("param", BackfillIdParam), async (c) => {
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
  });

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
