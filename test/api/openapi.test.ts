/**
 * The OpenAPI document: generated from the zod schemas, it covers every route the app has, its response
 * schemas agree with the TypeScript types the agents return (checked by the compiler, both ways), and
 * real responses — successes and errors — validate against it.
 */
import { Validator } from "@cfworker/json-schema";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import type { ScheduleView } from "../../src/agents/pipeline-scheduler";
import { createApp } from "../../src/app";
import type { HistorySummary } from "../../src/domain/history";
import type { RunView } from "../../src/domain/run-view";
import type { PipelineStats } from "../../src/domain/stats";
import { documentedOperations } from "../../src/routes/openapi";
import type { ScheduleHealth } from "../../src/agents/pipeline-scheduler";
import type { LedgerEntry } from "../../src/agents/scheduler/slot-watch";
import type { Backfill } from "../../src/domain/backfill";
import type { BackfillResponse, CheckHistoryResponse, HistorySummarySchema, RunSchema, ScheduleHealthSchema, ScheduleViewSchema, SlotEntrySchema, StatsResponse } from "../../src/routes/responses";
import type { ChecksView } from "../../src/domain/check-history";
import { api, apiJson, eventually, finished } from "../support/runtime";
import { uniquePipeline } from "../support/settings";
import ordersPipeline from "../../src/pipelines/orders/pipeline";

// Compile-time: each response schema and the type the agents return are assignable both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agreements: [
  Same<z.infer<typeof RunSchema>, RunView>,
  Same<z.infer<typeof ScheduleViewSchema>, ScheduleView>,
  Same<z.infer<typeof StatsResponse>, PipelineStats>,
  Same<z.infer<typeof HistorySummarySchema>, HistorySummary>,
  Same<z.infer<typeof SlotEntrySchema>, LedgerEntry>,
  Same<z.infer<typeof ScheduleHealthSchema>, ScheduleHealth>,
  Same<Omit<z.infer<typeof BackfillResponse>, "counts" | "statusUrl" | "slots" | "fromLocal" | "toLocal">, Omit<Backfill, "slots">>,
  Same<z.infer<typeof CheckHistoryResponse>, ChecksView>,
] = [true, true, true, true, true, true, true, true];

let document: any;
async function openapi() {
  document ??= (await apiJson("/api/openapi.json")).body;
  return document;
}

/** Validates a real response against the document's schema for its path, method and status. */
async function conforms(path: string, template: string, init: RequestInit = {}) {
  const response = await api(path, init);
  const method = (init.method ?? "GET").toLowerCase();
  const operation = (await openapi()).paths[template]?.[method];
  expect(operation, `${method} ${template} is documented`).toBeDefined();
  const documented = operation.responses[String(response.status)];
  expect(documented, `${method} ${template} documents status ${response.status}`).toBeDefined();
  const schema = documented.content?.["application/json"]?.schema;
  const body = await response.json();
  if (schema) {
    const result = new Validator(schema, "2020-12", false).validate(body);
    expect(result.errors, `${method} ${path} → ${response.status}: ${JSON.stringify(result.errors).slice(0, 400)}`).toEqual([]);
  }
  return { status: response.status, body: body as any };
}

describe("GET /api/openapi.json", () => {
  it("is OpenAPI 3.1 and documents every route the app serves", async () => {
    expect(agreements.every(Boolean)).toBe(true);
    const doc = await openapi();
    expect(doc.openapi).toBe("3.1.0");
    const served = createApp()
      .routes.filter((route) => route.method !== "ALL")
      .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}")}`);
    const documented = documentedOperations().map((operation) => `${operation.method} ${operation.path}`);
    expect(new Set(served)).toEqual(new Set(documented));
    expect(Object.keys(doc.paths).sort()).toEqual([...new Set(documentedOperations().map((operation) => operation.path))].sort());
  });

  it("describes parameters and bodies from the validating schemas", async () => {
    const doc = await openapi();
    const history = doc.paths["/api/pipeline/history"].get;
    expect(history.parameters.map((parameter: any) => [parameter.name, parameter.in, parameter.required])).toEqual([
      ["limit", "query", false],
      ["cursor", "query", false],
    ]);
    expect(doc.paths["/api/pipeline/schedule"].put.requestBody.content["application/json"].schema.properties.missedRuns.enum).toEqual(["latest", "skip", "all"]);
    expect(doc.paths["/api/health"].get.security).toEqual([]);
    const events = doc.paths["/api/pipelines/{name}/events"].post;
    expect(events.parameters.map((parameter: any) => [parameter.name, parameter.in, parameter.required, parameter.schema.maxLength ?? parameter.schema.pattern])).toEqual([
      ["name", "path", true, 63],
      ["Idempotency-Key", "header", false, "^[\\x21-\\x7e]{1,255}$"],
    ]);
    expect(Object.keys(events.responses[202].headers)).toEqual(["Location", "Idempotent-Replayed"]);
  });
});

describe("real responses validate against the document", () => {
  it("successes", async () => {
    const triggered = await conforms("/api/pipeline/trigger?wait=true", "/api/pipeline/trigger", { method: "POST" });
    expect(triggered.status).toBe(200);
    const runId = triggered.body.pipelineId;
    const started = await conforms("/api/pipeline/trigger", "/api/pipeline/trigger", { method: "POST" });
    expect(started.status).toBe(202);
    await finished(async () => (await apiJson(started.body.statusUrl)).body);
    await conforms(`/api/pipeline/runs/${runId}`, "/api/pipeline/runs/{id}");
    await conforms(`/api/pipeline/runs/${runId}/rejected`, "/api/pipeline/runs/{id}/rejected");
    await conforms("/api/pipeline/last", "/api/pipeline/last");
    await conforms("/api/pipeline/history?limit=2", "/api/pipeline/history");
    await conforms("/api/pipeline/schedule", "/api/pipeline/schedule");
    await conforms("/api/pipeline/stats?window=all", "/api/pipeline/stats");
    await conforms("/api/pipeline/checks", "/api/pipeline/checks");
    await conforms("/api/pipelines/orders/checks?limit=5", "/api/pipelines/{name}/checks");
    await conforms("/api/health", "/api/health");
    const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    expect((await conforms("/api/pipeline/schedule", "/api/pipeline/schedule", json("PUT", { interval: "6h", timezone: "Europe/Berlin" }))).status).toBe(200);
    await conforms("/api/pipeline/schedule", "/api/pipeline/schedule", json("PATCH", { missedRuns: "all" }));
    await conforms("/api/pipeline/schedule/pause", "/api/pipeline/schedule/pause", { method: "POST" });
    await conforms("/api/pipeline/schedule/resume", "/api/pipeline/schedule/resume", { method: "POST" });
    await conforms("/api/pipeline/schedule", "/api/pipeline/schedule", { method: "DELETE" });
    await conforms("/api/pipeline/slots", "/api/pipeline/slots");
    const backfill = await conforms("/api/pipelines/test-events/backfill", "/api/pipelines/{name}/backfill", json("POST", { from: "2026-11-01", to: "2026-11-02", reprocess: "all" }));
    expect(backfill.status).toBe(202);
    await eventually(() => apiJson(backfill.body.statusUrl), (response) => response.body.status !== "running");
    await conforms(backfill.body.statusUrl, "/api/pipelines/{name}/backfills/{id}");
    await conforms("/api/pipelines/test-events/backfills", "/api/pipelines/{name}/backfills");
    await conforms("/api/pipelines/test-events/slots?from=2026-11-01&to=2026-11-02", "/api/pipelines/{name}/slots");
    const event = await conforms("/api/pipeline/events", "/api/pipeline/events", { method: "POST", headers: { "idempotency-key": crypto.randomUUID() } });
    expect(event.status).toBe(202);
    await finished(async () => (await apiJson(event.body.statusUrl)).body);
    expect((await conforms(event.body.eventUrl, "/api/pipeline/events/{id}")).body.run.status).toBe("succeeded");
  });

  it("errors", async () => {
    await conforms("/api/pipeline/runs/manual-1", "/api/pipeline/runs/{id}");
    await conforms("/api/pipeline/runs/manual-1/cancel", "/api/pipeline/runs/{id}/cancel", { method: "POST" });
    await conforms("/api/pipeline/history?limit=0", "/api/pipeline/history");
    await conforms("/api/pipeline/stats?window=1y", "/api/pipeline/stats");
    await conforms("/api/pipeline/checks?limit=0", "/api/pipeline/checks");
    await conforms("/api/pipelines/orders/checks?check=nope", "/api/pipelines/{name}/checks");
    await conforms("/api/pipeline/trigger", "/api/pipeline/trigger", { method: "POST", body: "{", headers: { "content-type": "application/json" } });
    await conforms("/api/pipeline/trigger", "/api/pipeline/trigger", { method: "POST", body: "x", headers: { "content-type": "text/plain" } });
    await conforms("/api/pipeline/schedule", "/api/pipeline/schedule", { method: "PUT", body: '{"cron":"nope"}', headers: { "content-type": "application/json" } });
    await conforms("/api/pipeline/runs/manual-1/retry", "/api/pipeline/runs/{id}/retry", { method: "POST" });
    await conforms("/api/pipeline/backfill", "/api/pipeline/backfill", { method: "POST", body: '{"from":"2026-11-02","to":"2026-11-01"}', headers: { "content-type": "application/json" } });
    await conforms("/api/pipeline/backfills/bf-1", "/api/pipeline/backfills/{id}");
    await conforms("/api/pipeline/backfills/bf-1/cancel", "/api/pipeline/backfills/{id}/cancel", { method: "POST" });
    await conforms("/api/pipeline/slots?from=yesterday", "/api/pipeline/slots");
    await conforms("/api/pipeline/trigger", "/api/pipeline/trigger", { method: "POST", body: '{"params":{"x":1}}', headers: { "content-type": "application/json" } });
    await conforms("/api/pipeline/events", "/api/pipeline/events", { method: "POST", body: '{"x":1}', headers: { "content-type": "application/json" } });
    await conforms("/api/pipeline/events", "/api/pipeline/events", { method: "POST", headers: { "idempotency-key": "two words" } });
    // A key reused with other params: a pipeline that takes some (one that takes none has one valid body).
    const orders = `/api/pipelines/${uniquePipeline("openapi-events", ordersPipeline)}/events`;
    const key = crypto.randomUUID();
    const first = await apiJson(orders, { method: "POST", headers: { "idempotency-key": key, "content-type": "application/json" }, body: '{"store":"berlin"}' });
    expect(first.status).toBe(202);
    const reused = await conforms(orders, "/api/pipelines/{name}/events", { method: "POST", headers: { "idempotency-key": key, "content-type": "application/json" }, body: '{"store":"hamburg"}' });
    expect(reused.status).toBe(422);
    await finished(async () => (await apiJson(first.body.statusUrl)).body);
    await conforms("/api/pipeline/events/ev-1-1", "/api/pipeline/events/{id}");
  });
});
