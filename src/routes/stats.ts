import { STATS_WINDOWS } from "../domain/stats";
import { coordinatorOf, pipelineApp, schedulerOf } from "./context";
import { err } from "./docs";
import { Resource } from "./operation";
import { StatsWithHealthResponse } from "./responses";
import { StatsQuery } from "./schemas";

/**
 * Success rate, counts by status, duration percentiles and a per-run series, over a window; and what the
 * hourly check found of the schedule's alarm (re-arms, and why).
 */
export const statsRoutes = new Resource(pipelineApp()).add(
  {
    method: "get",
    path: "/stats",
    summary: "Success rate, durations and a per-run series",
    query: StatsQuery,
    responses: { 200: { description: "Stats over the window (default 30d), and the hourly check of the schedule's alarm.", schema: StatsWithHealthResponse }, 400: err("Invalid window.") },
  },
  async (c) => {
  const window = c.req.valid("query").window ?? "30d";
  const [stats, schedule] = await Promise.all([coordinatorOf(c.env, c.var.pipeline).getStatsJson(STATS_WINDOWS[window]), schedulerOf(c.env, c.var.pipeline).health()]);
  return c.json({ ...(JSON.parse(stats) as object), schedule });
  },
);
