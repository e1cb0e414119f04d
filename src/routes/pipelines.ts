import { declaredUri } from "../destinations";
import { Hono } from "hono";
import { z } from "zod";
import type { Pipeline } from "../engine/define-pipeline";
import type { InvalidDefinition } from "../engine/deployment";
import { deployment } from "../pipelines";
import { ApiError } from "../http/errors";
import { SharedRead } from "../http/shared-read";
import { coordinatorOf, defaultPipeline, namedPipeline, pipelineApp, schedulerOf } from "./context";
import { backfillRoutes } from "./backfills";
import { runRoutes } from "./runs";
import { scheduleRoutes } from "./schedule";
import { slotRoutes } from "./slots";
import { err } from "./docs";
import { Resource } from "./operation";
import { PipelineSummarySchema, PipelinesResponse } from "./responses";
import { resolveTriggers } from "../engine/triggers";
import { parseInterval } from "../domain/schedule";
import { PipelineParam } from "./schemas";
import { statsRoutes } from "./stats";
import { uploadRoutes } from "./uploads";
import { datasetRoutes } from "./dataset";
import { eventRoutes } from "./events";
import { checkRoutes } from "./checks";

/** Everything one pipeline answers: its runs, backfills, schedule, slot ledger, stats, checks, uploads, dataset and events. */
const PIPELINE_RESOURCES = [runRoutes, backfillRoutes, scheduleRoutes, slotRoutes, statsRoutes, checkRoutes, uploadRoutes, datasetRoutes, eventRoutes];
const pipelineResources = PIPELINE_RESOURCES.reduce((app, resource) => app.route("/", resource.app), pipelineApp());

/** One pipeline's operations, relative to its base path (`/api/pipeline` or `/api/pipelines/{name}`). */
export const PIPELINE_OPERATIONS = PIPELINE_RESOURCES.flatMap((resource) => resource.operations);

const paramSchemas = new WeakMap<Pipeline, Record<string, unknown> | null>();

/** The JSON Schema of the params a run of the pipeline takes (null: it takes none). */
function paramsSchemaOf(pipeline: Pipeline): Record<string, unknown> | null {
  if (!paramSchemas.has(pipeline)) {
    const schema = pipeline.params ? (z.toJSONSchema(pipeline.params, { io: "input", unrepresentable: "any" }) as Record<string, unknown>) : null;
    if (schema) delete schema.$schema;
    paramSchemas.set(pipeline, schema);
  }
  return paramSchemas.get(pipeline)!;
}

/**
 * One pipeline as the list shows it: whether it can run (`ready`; `misconfigured`: its variables do not
 * resolve; `invalid`: its definition was set aside), its schedule in brief, where it loads, its last run.
 */
async function summarize(env: Env, pipeline: Pipeline) {
  const scheduler = schedulerOf(env, pipeline.name);
  const [[schedule], lastRun, waiting] = await Promise.all([scheduler.describeSchedule(), coordinatorOf(env, pipeline.name).getLastRunSummary(), scheduler.waitingSlots()]);
  const triggers = resolveTriggers(pipeline.triggers, { deadlineMs: schedule!.deadline === null ? null : parseInterval(schedule!.deadline) });
  return {
    name: pipeline.name,
    description: pipeline.description,
    state: schedule!.error === undefined ? ("ready" as const) : ("misconfigured" as const),
    problems: schedule!.error === undefined ? [] : [schedule!.error],
    schedule: { cron: schedule!.cron, every: schedule!.every, timezone: schedule!.timezone, enabled: schedule!.enabled, nextExecuteAt: schedule!.nextExecuteAt },
    destination: declaredUri(pipeline.destination, env as unknown as Record<string, unknown>),
    params: paramsSchemaOf(pipeline),
    lastRun,
    triggers: { after: triggers.after, wait: triggers.wait, downstream: deployment.downstreamOf(pipeline.name), objects: triggers.objects, events: triggers.events },
    waiting,
  };
}

/** A definition set aside: its errors, and what it declares, without asking any agent. */
function summarizeInvalid(env: Env, invalid: InvalidDefinition) {
  return {
    name: invalid.name,
    description: invalid.description,
    state: "invalid" as const,
    problems: invalid.errors,
    schedule: { cron: invalid.declared.cron, every: invalid.declared.every, timezone: invalid.declared.timezone, enabled: false, nextExecuteAt: null },
    destination: declaredUri(invalid.declared.destination, env as unknown as Record<string, unknown>),
    params: null,
    lastRun: null,
    triggers: null,
    waiting: [],
  };
}

/**
 * The list asks every pipeline's scheduler and coordinator; requests that arrive together share one
 * round of asking (never one that started before they arrived). The Worker's bindings are the same for
 * every request an isolate serves, so the latest request's are used.
 */
let listEnv: Env | null = null;
const sharedList = new SharedRead(async () => [
  ...(await Promise.all(deployment.all().map((pipeline) => summarize(listEnv!, pipeline)))),
  ...deployment.invalid().map((invalid) => summarizeInvalid(listEnv!, invalid)),
]);

const notFound = { 404: err("pipeline_not_found: no pipeline of that name.") };

/** The deployment's pipelines: the list, and one by name. */
export const pipelineListRoutes = new Resource(new Hono<{ Bindings: Env }>())
  .add(
    {
      method: "get",
      path: "/api/pipelines",
      summary: "Every pipeline: whether it can run, its schedule, destination and last run",
      responses: { 200: { description: "The pipelines, in the order they are declared, those whose definition was set aside last.", schema: PipelinesResponse } },
    },
    async (c) => {
      listEnv = c.env;
      return c.json({ pipelines: await sharedList.get() });
    },
  )
  .add(
    {
      method: "get",
      path: "/api/pipelines/:name",
      summary: "One pipeline: whether it can run, its schedule, destination and last run",
      params: PipelineParam,
      responses: { 200: { description: "The pipeline.", schema: PipelineSummarySchema }, ...notFound },
    },
    async (c) => {
      const { name } = c.req.valid("param");
      const invalid = deployment.invalidNamed(name);
      if (invalid) return c.json(summarizeInvalid(c.env, invalid));
      const pipeline = deployment.find(name);
      if (!pipeline) throw new ApiError(404, "pipeline_not_found", `no pipeline named ${JSON.stringify(name)} (GET /api/pipelines lists them)`);
      return c.json(await summarize(c.env, pipeline));
    },
  );

/**
 * `/api/pipelines`: every pipeline this deployment defines; `/api/pipelines/:name/…` one pipeline's API;
 * `/api/pipeline/…` the same for the seed's default pipeline, exactly as the original example had it.
 */
export const pipelineRoutes = new Hono<{ Bindings: Env }>()
  .route("/", pipelineListRoutes.app)
  .route("/api/pipeline", pipelineApp().use(defaultPipeline).route("/", pipelineResources))
  .route("/api/pipelines/:name", pipelineApp().use(namedPipeline).route("/", pipelineResources));
