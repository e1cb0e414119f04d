import { env } from "cloudflare:workers";
import { beforeAll } from "vitest";

/**
 * The test files of one Vitest worker share one runtime (isolate: false in vitest.config.ts), so they share
 * storage. Tests name their own agents, except the ones that go through the API of the shipped pipelines
 * and the test-only one. Each file starts them from the same place: their own schedule, no run active.
 */
const SHARED = ["default", "orders", "test-events"];

beforeAll(async () => {
  for (const name of SHARED) {
    await env.PipelineScheduler.getByName(name).resetSchedule();
    const coordinator = env.PipelineCoordinator.getByName(name);
    const { runs } = await coordinator.getHistory(100, null);
    for (const run of runs.filter((candidate) => candidate.status === "running")) await coordinator.cancelRun(run.pipelineId, "a new test file starts");
  }
});
