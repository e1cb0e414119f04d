import type { ScheduleUpdate, ScheduleView } from "../agents/pipeline-scheduler";
import { ApiError } from "../http/errors";
import { optionalJsonBody } from "../http/json-body";
import { pipelineApp, schedulerOf } from "./context";
import { SchedulePatch, SchedulePut } from "./schemas";

/** A pipeline's schedule: read it, replace or change it, go back to the pipeline's own, pause and resume. */
export const scheduleRoutes = pipelineApp()
  .get("/schedule", async (c) => c.json(await schedulerOf(c.env, c.var.pipeline).describeSchedule()))
  .put("/schedule", optionalJsonBody(SchedulePut), async (c) => c.json(await scheduleChange(schedulerOf(c.env, c.var.pipeline).updateSchedule(c.get("body"), "replace"))))
  .patch("/schedule", optionalJsonBody(SchedulePatch), async (c) => c.json(await scheduleChange(schedulerOf(c.env, c.var.pipeline).updateSchedule(c.get("body"), "merge"))))
  .delete("/schedule", async (c) => c.json(await schedulerOf(c.env, c.var.pipeline).resetSchedule()))
  .post("/schedule/pause", async (c) => c.json(await scheduleChange(schedulerOf(c.env, c.var.pipeline).setEnabled(false))))
  .post("/schedule/resume", async (c) => c.json(await scheduleChange(schedulerOf(c.env, c.var.pipeline).setEnabled(true))));

/** The seed's array shape for the schedule, or 400 naming what is wrong with the change. */
async function scheduleChange(update: Promise<ScheduleUpdate>): Promise<ScheduleView[]> {
  const result = await update;
  if (!result.ok) throw new ApiError(400, "invalid_schedule", result.reason);
  return [result.schedule];
}
