import { SOURCE_TYPES } from "../sources";
import { DESTINATION_KINDS } from "../destinations";
import { Hono } from "hono";
import { z } from "zod";
import { err } from "./docs";
import type { Method, Operation, ResponseDoc } from "./operation";
import { Resource } from "./operation";
import { PIPELINE_OPERATIONS, pipelineListRoutes } from "./pipelines";
import { HealthResponse } from "./responses";
import { runLookupRoutes } from "./run-lookup";
import { notificationRoutes } from "./notifications";
import { PipelineParam } from "./schemas";

/**
 * The OpenAPI 3.1 document, generated from the operations the routes are declared with (operation.ts):
 * the zod schemas that validate requests and describe responses, as zod's own JSON Schema output (draft
 * 2020-12, which OpenAPI 3.1 uses). Nothing is written twice: each pipeline operation is declared once
 * and documented under both `/api/pipeline` (the default pipeline) and `/api/pipelines/{name}`.
 */

const common = {
  401: err("Missing or wrong bearer token (see WWW-Authenticate)."),
  500: err("A bug of this service; the detail is in the Worker's logs."),
};
const notFound = { 404: err("pipeline_not_found: no pipeline of that name.") };

/** Health, and this document. */
export const serviceRoutes = new Resource(new Hono<{ Bindings: Env }>())
  .add({ method: "get", path: "/api/health", summary: "Liveness", public: true, responses: { 200: { description: "Up.", schema: HealthResponse } } }, (c) => c.json({ status: "ok" as const }))
  .add({ method: "get", path: "/api/openapi.json", summary: "This document", responses: { 200: { description: "OpenAPI 3.1." } } }, (c) => c.json(openApiDocument()));

function operations(): Operation[] {
  return [
    ...serviceRoutes.operations,
    ...pipelineListRoutes.operations,
    ...runLookupRoutes.operations,
    ...notificationRoutes.operations,
    // The seed's paths, for the default pipeline.
    ...PIPELINE_OPERATIONS.map((operation) => ({ ...operation, path: `/api/pipeline${operation.path}`, summary: `${operation.summary} (default pipeline)` })),
    ...PIPELINE_OPERATIONS.map((operation) => ({
      ...operation,
      path: `/api/pipelines/:name${operation.path}`,
      params: operation.params ? PipelineParam.extend(operation.params.shape) : PipelineParam,
      responses: { ...operation.responses, ...notFound, ...(operation.responses[404] ? { 404: err(`${operation.responses[404].description.replace(/\.$/, "")}, or pipeline_not_found.`) } : {}) },
    })),
  ];
}

/** `/runs/:id` as OpenAPI writes it: `/runs/{id}`. */
const openApiPath = (path: string) => path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");

function schemaOf(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return json;
}

function parameters(object: z.ZodObject | undefined, location: "query" | "path" | "header"): Record<string, unknown>[] {
  if (!object) return [];
  const json = schemaOf(object, "input") as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
    // Header names are declared as Hono reads them (lower case) and documented as they are written.
    name: location === "header" ? name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`) : name,
    in: location,
    required: location === "path" || (json.required ?? []).includes(name),
    schema,
  }));
}

function buildDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of operations()) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries<ResponseDoc>({ ...(operation.public ? {} : common), ...operation.responses })) {
      responses[status] = {
        description: response.description,
        ...(response.headers ? { headers: Object.fromEntries(Object.entries(response.headers).map(([name, description]) => [name, { description, schema: { type: "string" } }])) } : {}),
        ...(response.schema ? { content: { "application/json": { schema: schemaOf(response.schema, "output") } } } : {}),
      };
    }
    const path = openApiPath(operation.path);
    (paths[path] ??= {})[operation.method] = {
      summary: operation.summary,
      operationId: `${operation.method}${path.replace(/\{(\w+)\}/g, "By_$1").replace(/[^A-Za-z0-9]+(.)?/g, (_, next: string | undefined) => (next ?? "").toUpperCase())}`,
      ...(operation.public ? { security: [] } : {}),
      parameters: [...parameters(operation.params, "path"), ...parameters(operation.query, "query"), ...parameters(operation.headers, "header")],
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
        `Scheduled ETL pipelines on Cloudflare Workers and the Agents SDK. /api/pipeline/* serves the default pipeline (the seed example); every pipeline is under /api/pipelines/{name}/*. Bodies are optional JSON; every error has the shape { errors: [{ code, message }] }. Source kinds: ${SOURCE_TYPES.join(", ")}; destination kinds: ${DESTINATION_KINDS.map((kind) => kind.type).join(", ")}.`,
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

/** For the 405 handler and the tests: every documented method and path (OpenAPI's form). */
export function documentedOperations(): { method: Method; path: string }[] {
  return operations().map(({ method, path }) => ({ method, path: openApiPath(path) }));
}
