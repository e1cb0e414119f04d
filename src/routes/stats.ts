import { STATS_WINDOWS } from "../domain/stats";
import { validate } from "../http/validate";
import { coordinatorOf, pipelineApp } from "./context";
import { StatsQuery } from "./schemas";

/** Success rate, counts by status, duration percentiles and a per-run series, over a window. */
export const statsRoutes = pipelineApp().get("/stats", validate("query", StatsQuery), async (c) => {
  const window = c.req.valid("query").window ?? "30d";
  return c.body(await coordinatorOf(c.env, c.var.pipeline).getStatsJson(STATS_WINDOWS[window]), 200, { "content-type": "application/json" });
});
