import type { ScheduleUpdate, ScheduleView } from "../agents/pipeline-scheduler";
import { ApiError } from "../http/errors";
import { pipelineApp, schedulerOf } from "./context";
import { err, MISCONFIGURED, WITH_BODY } from "./docs";
import { Resource } from "./operation";
import { ScheduleResponse } from "./responses";
import { SchedulePatch, SchedulePut } from "./schemas";

const schedule = (description: string) => ({ 200: { description, schema: ScheduleResponse } });
const invalidChange = { ...WITH_BODY, 400: err("invalid_body or invalid_schedule, naming the problem.") };

/** A pipeline's schedule: read it, replace or change it, go back to the pipeline's own, pause and resume. */
export const scheduleRoutes = new Resource(pipelineApp())
  .add({ method: "get", path: "/schedule", summary: "The schedule", responses: schedule("The seed's array shape.") }, async (c) => c.json(await schedulerOf(c.env, c.var.pipeline).describeSchedule()))
  .add({ method: "put", path: "/schedule", summary: "Replace the schedule", body: SchedulePut, responses: { ...schedule("The new schedule."), ...invalidChange } }, async (c) =>
    c.json(await scheduleChange(schedulerOf(c.env, c.var.pipeline).updateSchedule(c.get("body"), "replace"))),
  )
  .add({ method: "patch", path: "/schedule", summary: "Change part of the schedule", body: SchedulePatch, responses: { ...schedule("The new schedule."), ...invalidChange } }, async (c) =>
    c.json(await scheduleChange(schedulerOf(c.env, c.var.pipeline).updateSchedule(c.get("body"), "merge"))),
  )
  .add({ method: "delete", path: "/schedule", summary: "Return to the pipeline's own schedule, running", responses: schedule("The pipeline's schedule (its definition and variables).") }, async (c) =>
    c.json(await schedulerOf(c.env, c.var.pipeline).resetSchedule()),
  )
  .add({ method: "post", path: "/schedule/pause", summary: "Pause the schedule", responses: { ...schedule("Paused (a schedule of the pipeline's own stays its own)."), ...MISCONFIGURED } }, async (c) =>
    c.json(await scheduleChange(schedulerOf(c.env, c.var.pipeline).setEnabled(false))),
  )
  .add({ method: "post", path: "/schedule/resume", summary: "Resume the schedule", responses: { ...schedule("Resumed."), ...MISCONFIGURED } }, async (c) =>
    c.json(await scheduleChange(schedulerOf(c.env, c.var.pipeline).setEnabled(true))),
  );

/** The seed's array shape for the schedule, or 400 naming what is wrong with the change. */
async function scheduleChange(update: Promise<ScheduleUpdate>): Promise<ScheduleView[]> {
  const result = await update;
  if (!result.ok) throw new ApiError(400, "invalid_schedule", result.reason);
  return [result.schedule];
}
