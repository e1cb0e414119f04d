/**
 * scheduled-pipeline: scheduled ETL pipelines, declared in TypeScript, on Cloudflare Workers and the
 * Agents SDK.
 *
 *   HTTP /api/pipelines/:name/* ──► Hono (this Worker) ──► PipelineScheduler "<name>" (alarm per slot)
 *        /api/pipeline/* (default)         │ reads                 │ startRun(runId)
 *                                          ▼                       ▼
 *                                   PipelineCoordinator "<name>" (run history, checkpoints)
 *                                          │ runStage(task) in sequence
 *   ExtractStage "<name>/<runId>:extract" ─► TransformStage "…:transform" ─► LoadStage "…:load"
 *   (records pass through R2 "STAGING" as NDJSON chunks; Load upserts into the pipeline's D1 table;
 *   docs/architecture.md tells the whole story)
 *   R2 event notifications ─► Queue "scheduled-pipeline-object-events" ─► queue() ─► PipelineScheduler
 *   .objectsArrived: objects landing start runs (src/queues/object-events.ts)
 */
import { createApp } from "./app";
import { logEvent } from "./observability/log";
import { deployment } from "./pipelines";
import { consumeObjectEvents } from "./queues/object-events";

export { PipelineScheduler } from "./agents/pipeline-scheduler";
export { PipelineCoordinator } from "./agents/pipeline-coordinator";
export { ExtractStage } from "./agents/stages/extract-stage";
export { TransformStage } from "./agents/stages/transform-stage";
export { LoadStage } from "./agents/stages/load-stage";

// Said first, once, when the Worker loads: a pipeline file with a mistake is set aside, the rest run.
for (const invalid of deployment.invalid()) logEvent("invalid_definition", { pipeline: invalid.name, error: invalid.errors.join("; ") });

const app = createApp();

/**
 * The hourly cron wakes every pipeline's scheduler: waking it arms the pipeline's next slot if nothing is
 * armed (after a deploy, or a lost alarm) and catches up on missed slots. One pipeline failing to wake
 * does not keep the others from it.
 */
export async function wakeSchedulers(env: Env): Promise<void> {
  const pipelines = deployment.all();
  const results = await Promise.allSettled(pipelines.map((pipeline) => env.PipelineScheduler.getByName(pipeline.name).ensureArmed()));
  results.forEach((result, index) => {
    if (result.status === "rejected") logEvent("wake_failed", { pipeline: pipelines[index]!.name, error: String(result.reason) });
  });
}

export default {
  fetch: app.fetch,
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(wakeSchedulers(env));
  },
  // R2 event notifications: objects landing start the runs of pipelines with `triggers.objects`.
  queue: (batch, env) => consumeObjectEvents(batch, env),
} satisfies ExportedHandler<Env>;
