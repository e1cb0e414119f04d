import { env } from "cloudflare:workers";
import { beforeAll } from "vitest";

/**
 * The test files of one Vitest worker share one runtime (isolate: false in vitest.config.ts), so they share
 * storage. Tests name their own agents, except the ones that go through /api/pipeline: the `default`
 * pipeline. Each file starts it from the same place: the configured schedule, and no run active.
 */
beforeAll(async () => {
  await env.PipelineScheduler.getByName("default").resetSchedule();
  const coordinator = env.PipelineCoordinator.getByName("default");
  const { runs } = await coordinator.getHistory(100, null);
  for (const run of runs.filter((candidate) => candidate.status === "running")) await coordinator.cancelRun(run.pipelineId, "a new test file starts");
});
