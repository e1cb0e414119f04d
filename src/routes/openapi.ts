import { z } from "zod";
import { MAX_BODY_BYTES } from "../http/json-body";
import {
  BackfillCancelResponse,
  BackfillResponse,
  BackfillsResponse,
  BackfillStarted,
  CancelResponse,
  ErrorResponse,
  HealthResponse,
  HistoryResponse,
  PipelineSummarySchema,
  PipelinesResponse,
  RejectedResponse,
  RunSchema,
  RetryResponse,
  ScheduleResponse,
  SlotsResponse,
  StatsWithHealthResponse,
  TriggerResponse,
} from "./responses";
import {
  BackfillBody,
  BackfillIdParam,
  CancelBody,
  HistoryQuery,
  PipelineParam,
  RejectedQuery,
  RunIdParam,
  SchedulePatch,
  SchedulePut,
  SlotsQuery,
  StatsQuery,
  TriggerBody,
  TriggerQuery,
} from "./schemas";

/**
 * The OpenAPI 3.1 document, generated from the zod schemas that validate requests and describe responses
 * (zod's own JSON Schema output, draft 2020-12, which OpenAPI 3.1 uses). Nothing here is written twice:
 * each pipeline operation is listed once and documented under both `/api/pipeline` (the default pipeline)
 * and `/api/pipelines/{name}`.
 */

type Method = "get" | "post" | "put" | "patch" | "delete";

interface Operation {
  method: Method;
  path: string;
  summary: string;
  public?: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, { description: string; schema?: z.ZodType }>;
}

const err = (description: string) => ({ description, schema: ErrorResponse });
const common = {
  401: err("Missing or wrong bearer token (see WWW-Authenticate)."),
  500: err("A bug of this service; the detail is in the Worker's logs."),
};
const withBody = {
  400: err("Invalid query, body or path (the message names every problem)."),
  403: err("With no token required: a change requested from another web origin (cross_origin_request)."),
  413: err(`Body larger than ${MAX_BODY_BYTES} bytes.`),
  415: err("Body is not application/json."),
};

/** One pipeline's operations, relative to its base path. */
const PIPELINE_OPERATIONS: Operation[] = [
  {
    method: "post",
    path: "/trigger",
    summary: "Start a run now",
    query: TriggerQuery,
    body: TriggerBody,
    responses: {
      200: { description: "With wait=true: the run finished; `run` holds it.", schema: TriggerResponse },
      202: { description: "Started (or still running after the wait); follow statusUrl / Location.", schema: TriggerResponse },
      409: err("Another run is active: run_in_progress, with its pipelineId and statusUrl."),
      503: err("The pipeline is misconfigured: invalid_configuration, naming the variable."),
      ...withBody,
      400: err("invalid_query, invalid_body, or invalid_params (naming each parameter that does not fit the pipeline's params schema)."),
    },
  },
  {
    method: "post",
    path: "/runs/{id}/retry",
    summary: "Retry a failed or cancelled run from the stage that failed",
    params: RunIdParam,
    query: TriggerQuery,
    responses: {
      200: { description: "With wait=true: the retry finished; `run` holds it.", schema: RetryResponse },
      202: { description: "Started as a new run (`retry` says from which stage and what it reused); follow statusUrl / Location.", schema: RetryResponse },
      404: err("run_not_found."),
      409: err("run_not_retryable (it succeeded, is running, or was skipped), or run_in_progress (another run is active)."),
      503: err("The pipeline is misconfigured: invalid_configuration."),
      400: err("Invalid id or query."),
    },
  },
  {
    method: "post",
    path: "/backfill",
    summary: "Backfill the pipeline's slots in [from, to), one run at a time",
    body: BackfillBody,
    responses: {
      202: { description: "Started (or queued behind the active run); follow statusUrl / Location.", schema: BackfillStarted },
      409: err("backfill_in_progress: another backfill is running (its backfillId and statusUrl are in the body)."),
      503: err("The pipeline is misconfigured: invalid_configuration."),
      ...withBody,
      400: err("invalid_body (from >= to, bad times, reprocess), invalid_params, too_many_slots (more than 1,000), or invalid_range (no slot, or slots in the future)."),
    },
  },
  {
    method: "get",
    path: "/backfills",
    summary: "Backfills, newest first",
    query: HistoryQuery.pick({ limit: true }),
    responses: { 200: { description: "The newest backfills (at most limit, default 20), without their slots.", schema: BackfillsResponse }, 400: err("Invalid limit.") },
  },
  {
    method: "get",
    path: "/backfills/{id}",
    summary: "One backfill's progress, slot by slot",
    params: BackfillIdParam,
    responses: { 200: { description: "The backfill.", schema: BackfillResponse }, 400: err("Invalid id."), 404: err("backfill_not_found.") },
  },
  {
    method: "post",
    path: "/backfills/{id}/cancel",
    summary: "Stop a backfill after its current run",
    params: BackfillIdParam,
    responses: { 200: { description: "Cancelled; slots not started are cancelled.", schema: BackfillCancelResponse }, 400: err("Invalid id."), 404: err("backfill_not_found."), 409: err("backfill_not_active.") },
  },
  {
    method: "get",
    path: "/slots",
    summary: "The slot ledger: every expected slot of a range and its fate",
    query: SlotsQuery,
    responses: {
      200: { description: "Slots in [from, to), oldest first (default: the last 7 days and the next slot).", schema: SlotsResponse },
      400: err("invalid_query, or too_many_slots (more than 1,000 in the range)."),
    },
  },
  {
    method: "get",
    path: "/runs/{id}",
    summary: "One run, also while it runs",
    params: RunIdParam,
    responses: { 200: { description: "The run.", schema: RunSchema }, 400: err("Invalid id."), 404: err("run_not_found.") },
  },
  {
    method: "post",
    path: "/runs/{id}/cancel",
    summary: "Cancel an active run",
    params: RunIdParam,
    body: CancelBody,
    responses: {
      200: { description: "Cancelled; the run keeps the counts it reached.", schema: CancelResponse },
      404: err("run_not_found."),
      409: err("run_not_active, with the run's status."),
      ...withBody,
    },
  },
  {
    method: "get",
    path: "/runs/{id}/rejected",
    summary: "A run's rejected records, with their raw form",
    params: RunIdParam,
    query: RejectedQuery,
    responses: { 200: { description: "One page, in position order.", schema: RejectedResponse }, 400: err("Invalid query."), 404: err("run_not_found.") },
  },
  {
    method: "get",
    path: "/last",
    summary: "The most recent finished run",
    responses: { 200: { description: "The run, or null before any run finished.", schema: RunSchema.nullable() } },
  },
  {
    method: "get",
    path: "/history",
    summary: "Runs, newest first, with a summary",
    query: HistoryQuery,
    responses: { 200: { description: "One page.", schema: HistoryResponse }, 400: err("Invalid query.") },
  },
  { method: "get", path: "/schedule", summary: "The schedule", responses: { 200: { description: "The seed's array shape.", schema: ScheduleResponse } } },
  {
    method: "put",
    path: "/schedule",
    summary: "Replace the schedule",
    body: SchedulePut,
    responses: { 200: { description: "The new schedule.", schema: ScheduleResponse }, ...withBody, 400: err("invalid_body or invalid_schedule, naming the problem.") },
  },
  {
    method: "patch",
    path: "/schedule",
    summary: "Change part of the schedule",
    body: SchedulePatch,
    responses: { 200: { description: "The new schedule.", schema: ScheduleResponse }, ...withBody, 400: err("invalid_body or invalid_schedule, naming the problem.") },
  },
  {
    method: "delete",
    path: "/schedule",
    summary: "Return to the pipeline's own schedule",
    responses: { 200: { description: "The pipeline's schedule (its definition and variables).", schema: ScheduleResponse } },
  },
  { method: "post", path: "/schedule/pause", summary: "Pause the schedule", responses: { 200: { description: "Paused.", schema: ScheduleResponse } } },
  { method: "post", path: "/schedule/resume", summary: "Resume the schedule", responses: { 200: { description: "Resumed.", schema: ScheduleResponse } } },
  {
    method: "get",
    path: "/stats",
    summary: "Success rate, durations and a per-run series",
    query: StatsQuery,
    responses: { 200: { description: "Stats over the window (default 30d), and the hourly check of the schedule's alarm.", schema: StatsWithHealthResponse }, 400: err("Invalid window.") },
  },
];

const notFound = { 404: err("pipeline_not_found: no pipeline of that name.") };

const OPERATIONS: Operation[] = [
  { method: "get", path: "/api/health", summary: "Liveness", public: true, responses: { 200: { description: "Up.", schema: HealthResponse } } },
  {
    method: "get",
    path: "/api/pipelines",
    summary: "Every pipeline: schedule, destination, last run",
    responses: { 200: { description: "The pipelines, in the order they are declared.", schema: PipelinesResponse } },
  },
  {
    method: "get",
    path: "/api/pipelines/{name}",
    summary: "One pipeline: schedule, destination, last run",
    params: PipelineParam,
    responses: { 200: { description: "The pipeline.", schema: PipelineSummarySchema }, ...notFound },
  },
  {
    method: "get",
    path: "/api/runs/{id}",
    summary: "A run by its id alone, whichever pipeline it belongs to",
    params: RunIdParam,
    responses: {
      200: { description: "The run (its `pipeline` says whose).", schema: RunSchema },
      400: err("Invalid id."),
      404: err("run_not_found: no pipeline has a run with this id."),
      409: err("ambiguous_run_id: more than one pipeline has a run with this id (`pipelines` names them)."),
    },
  },
  // The seed's paths, for the default pipeline.
  ...PIPELINE_OPERATIONS.map((operation) => ({ ...operation, path: `/api/pipeline${operation.path}`, summary: `${operation.summary} (default pipeline)` })),
  ...PIPELINE_OPERATIONS.map((operation) => ({
    ...operation,
    path: `/api/pipelines/{name}${operation.path}`,
    params: operation.params ? PipelineParam.extend(operation.params.shape) : PipelineParam,
    responses: { ...operation.responses, ...notFound, ...(operation.responses[404] ? { 404: err(`${operation.responses[404].description.replace(/\.$/, "")}, or pipeline_not_found.`) } : {}) },
  })),
  { method: "get", path: "/api/openapi.json", summary: "This document", responses: { 200: { description: "OpenAPI 3.1." } } },
];

function schemaOf(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return json;
}

function parameters(object: z.ZodObject | undefined, location: "query" | "path"): Record<string, unknown>[] {
  if (!object) return [];
  const json = schemaOf(object, "input") as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
    name,
    in: location,
    required: location === "path" || (json.required ?? []).includes(name),
    schema,
  }));
}

function buildDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of OPERATIONS) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries({ ...(operation.public ? {} : common), ...operation.responses })) {
      responses[status] = {
        description: response.description,
        ...(response.schema ? { content: { "application/json": { schema: schemaOf(response.schema, "output") } } } : {}),
      };
    }
    (paths[operation.path] ??= {})[operation.method] = {
      summary: operation.summary,
      operationId: `${operation.method}${operation.path.replace(/\{(\w+)\}/g, "By_$1").replace(/[^A-Za-z0-9]+(.)?/g, (_, next: string | undefined) => (next ?? "").toUpperCase())}`,
      ...(operation.public ? { security: [] } : {}),
      parameters: [...parameters(operation.params, "path"), ...parameters(operation.query, "query")],
      ...(operation.body ? { requestBody: { required: false, content: { "application/json": { schema: schemaOf(operation.body, "input") } } } } : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "scheduled-pipeline",
      version: "1.0.0",
      description:
        "Scheduled ETL pipelines on Cloudflare Workers and the Agents SDK. /api/pipeline/* serves the default pipeline (the seed example); every pipeline is under /api/pipelines/{name}/*. Bodies are optional JSON; every error has the shape { errors: [{ code, message }] }.",
    },
    servers: [{ url: "/" }],
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "API_TOKEN (wrangler secret put API_TOKEN)." } } },
    security: [{ bearer: [] }],
    paths,
  };
}

let document: Record<string, unknown> | undefined;

/** Built once per isolate: the schemas do not change while it lives. */
export function openApiDocument(): Record<string, unknown> {
  document ??= buildDocument();
  return document;
}

/** For the 405 handler and the tests: every documented method and path. */
export function documentedOperations(): { method: Method; path: string }[] {
  return OPERATIONS.map(({ method, path }) => ({ method, path }));
}
