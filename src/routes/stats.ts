import { STATS_WINDOWS } from "../domain/stats";
import { validate } from "../http/validate";
import { coordinatorOf, pipelineApp, schedulerOf } from "./context";
import { StatsQuery } from "./schemas";

/**
 * Success rate, counts by status, duration percentiles and a per-run series, over a window; and what the
 * hourly check found of the schedule's alarm (re-arms, and why).
 */
export const statsRoutes = pipelineApp().get("/stats", validate("query", StatsQuery), async (c) => {
  const window = c.req.valid("query").window ?? "30d";
  const [stats, schedule] = await Promise.all([coordinatorOf(c.env, c.var.pipeline).getStatsJson(STATS_WINDOWS[window]), schedulerOf(c.env, c.var.pipeline).health()]);
  return c.json({ ...(JSON.parse(stats) as object), schedule });
});
