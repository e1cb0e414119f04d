import { Hono } from "hono";
import type { Context } from "hono";
import type { ScheduleUpdate, ScheduleView } from "../agents/pipeline-scheduler";
import { encodePositionCursor } from "../domain/history";
import { ApiError } from "../http/errors";
import { optionalJsonBody } from "../http/json-body";
import { validate } from "../http/validate";
import { STATS_WINDOWS } from "../domain/stats";
import {
  CancelBody,
  SchedulePatch,
  SchedulePut,
  StatsQuery,
  HISTORY_DEFAULT_LIMIT,
  HistoryQuery,
  REJECTED_DEFAULT_LIMIT,
  RejectedQuery,
  RunIdParam,
  TriggerBody,
  TriggerQuery,
} from "./pipeline-schemas";

/** The pipeline this API serves. Instance names carry it, so more pipelines need no data migration. */
export const DEFAULT_PIPELINE = "default";

/** How long `?wait=true` holds the request before answering 202 with the run still running. */
export const WAIT_TIMEOUT_MS = 60_000;

/**
 * A plain stub: the Agents SDK starts an agent (onStart) before it serves an RPC call, so the extra round
 * trip of getAgentByName is not needed for named agents.
 */
function scheduler(env: Env) {
  return env.PipelineScheduler.getByName(DEFAULT_PIPELINE);
}

function jsonText(c: Context, text: string): Response {
  return c.body(text, 200, { "content-type": "application/json" });
}

export function runUrl(runId: string): string {
  return `/api/pipeline/runs/${encodeURIComponent(runId)}`;
}

/** `/api/pipeline/*`: every handler validates its input, asks the scheduler agent, and shapes the answer. */
export const pipelineRoutes = new Hono<{ Bindings: Env }>()
  .post("/trigger", validate("query", TriggerQuery), optionalJsonBody(TriggerBody), async (c) => {
    const wait = c.req.valid("query").wait ?? false;
    const note = c.get("body").note ?? null;
    const result = await scheduler(c.env).trigger({ wait, waitTimeoutMs: WAIT_TIMEOUT_MS, note });
    switch (result.outcome) {
      case "misconfigured":
        throw new ApiError(503, "invalid_configuration", `the pipeline is misconfigured: ${result.errors.join("; ")}`);
      case "conflict":
        throw new ApiError(409, "run_in_progress", `run ${result.active.pipelineId} is still running; trigger again when it has finished`, {
          pipelineId: result.active.pipelineId,
          statusUrl: runUrl(result.active.pipelineId),
        });
      case "started": {
        const { run } = result;
        const statusUrl = runUrl(run.pipelineId);
        c.header("Location", statusUrl);
        const body = { message: "Pipeline triggered", pipelineId: run.pipelineId, status: run.status, statusUrl };
        if (!wait) return c.json(body, 202);
        return c.json({ ...body, run }, run.status === "running" ? 202 : 200);
      }
    }
  })
  // Reads pass the coordinator's stored JSON through as text: the hottest paths, no parse and re-serialise.
  .get("/runs/:id", validate("param", RunIdParam), async (c) => {
    const { id } = c.req.valid("param");
    const run = await scheduler(c.env).getRunJson(id);
    if (run === null) throw new ApiError(404, "run_not_found", `no run with id ${JSON.stringify(id)}`);
    return jsonText(c, run);
  })
  .get("/runs/:id/rejected", validate("param", RunIdParam), validate("query", RejectedQuery), async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    const page = await scheduler(c.env).listRejected(id, cursor ?? -1, limit ?? REJECTED_DEFAULT_LIMIT);
    if (!page.found) throw new ApiError(404, "run_not_found", `no run with id ${JSON.stringify(id)}`);
    return c.json({
      pipelineId: id,
      rejected: page.records,
      nextCursor: page.nextPosition === null ? null : encodePositionCursor(page.nextPosition),
    });
  })
  .post("/runs/:id/cancel", validate("param", RunIdParam), optionalJsonBody(CancelBody), async (c) => {
    const { id } = c.req.valid("param");
    const reason = c.get("body").reason ?? "requested through the API";
    const result = await scheduler(c.env).cancelRun(id, reason);
    switch (result.outcome) {
      case "not_found":
        throw new ApiError(404, "run_not_found", `no run with id ${JSON.stringify(id)}`);
      case "not_active":
        throw new ApiError(409, "run_not_active", `run ${id} is not running (status ${result.run.status})`, {
          pipelineId: id,
          status: result.run.status,
        });
      case "cancelled":
        return c.json({ message: "Run cancelled", pipelineId: id, status: result.run.status, run: result.run });
    }
  })
  .get("/last", async (c) => jsonText(c, await scheduler(c.env).getLastRunJson()))
  .get("/history", validate("query", HistoryQuery), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    return jsonText(c, await scheduler(c.env).getHistoryJson(limit ?? HISTORY_DEFAULT_LIMIT, cursor ?? null));
  })
  .get("/schedule", async (c) => c.json(await scheduler(c.env).describeSchedule()))
  .put("/schedule", optionalJsonBody(SchedulePut), async (c) => c.json(await scheduleChange(scheduler(c.env).updateSchedule(c.get("body"), "replace"))))
  .patch("/schedule", optionalJsonBody(SchedulePatch), async (c) => c.json(await scheduleChange(scheduler(c.env).updateSchedule(c.get("body"), "merge"))))
  .delete("/schedule", async (c) => c.json(await scheduler(c.env).resetSchedule()))
  .post("/schedule/pause", async (c) => c.json(await scheduleChange(scheduler(c.env).updateSchedule({ enabled: false }, "merge"))))
  .post("/schedule/resume", async (c) => c.json(await scheduleChange(scheduler(c.env).updateSchedule({ enabled: true }, "merge"))))
  .get("/stats", validate("query", StatsQuery), async (c) => {
    const window = c.req.valid("query").window ?? "30d";
    return jsonText(c, await scheduler(c.env).getStatsJson(STATS_WINDOWS[window] ?? null));
  });

/** The seed's array shape for the schedule, or 400 naming what is wrong with the change. */
async function scheduleChange(update: Promise<ScheduleUpdate>): Promise<ScheduleView[]> {
  const result = await update;
  if (!result.ok) throw new ApiError(400, "invalid_schedule", result.reason);
  return [result.schedule];
}
