/**
 * scheduled-pipeline: a recurring ETL pipeline on Cloudflare Workers and the Agents SDK.
 *
 *   HTTP /api/pipeline/* ──► Hono (this Worker) ──► PipelineScheduler "default" (alarm per cron slot)
 *                                                        │ startRun(runId)
 *                                                        ▼
 *                                          PipelineCoordinator "default" (run history, checkpoints)
 *                                                        │ runStage(task) in sequence
 *                    ExtractStage "<runId>:extract" ─► TransformStage "<runId>:transform" ─► LoadStage "<runId>:load"
 *                         (records pass through R2 "STAGING" as NDJSON chunks; Load writes D1 "DB")
 */
import { createApp } from "./app";
import { DEFAULT_PIPELINE } from "./routes/pipeline";

export { PipelineScheduler } from "./agents/pipeline-scheduler";
export { PipelineCoordinator } from "./agents/pipeline-coordinator";
export { ExtractStage } from "./agents/stages/extract-stage";
export { TransformStage } from "./agents/stages/transform-stage";
export { LoadStage } from "./agents/stages/load-stage";

const app = createApp();

/** The hourly cron only wakes the scheduler: waking it arms the pipeline's next slot if nothing is armed. */
export async function wakeScheduler(env: Env): Promise<void> {
  await env.PipelineScheduler.getByName(DEFAULT_PIPELINE).ensureArmed();
}

export default {
  fetch: app.fetch,
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(wakeScheduler(env));
  },
} satisfies ExportedHandler<Env>;
