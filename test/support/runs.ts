import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { expect } from "vitest";
import type { PipelineSettings } from "../../src/engine/settings";
import type { RunView } from "../../src/domain/run-view";
import { settingsFor, uniquePipeline } from "./settings";
import { finished } from "./runtime";

/** Runs a pipeline (a fresh coordinator unless named) with changed settings, and waits for the run to end. */
export async function runPipeline(changes: Partial<PipelineSettings>, name = uniquePipeline("pipe"), timeoutMs = 20_000) {
  const coordinator = await getAgentByName(env.PipelineCoordinator, name);
  const runId = `manual-${Date.now()}`;
  const settings = settingsFor(name, changes);
  const started = await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings });
  expect(started.outcome).toBe("started");
  const run: RunView = await finished(() => coordinator.getRun(runId), timeoutMs);
  return { run, name, coordinator, runId };
}
