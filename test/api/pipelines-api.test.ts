/**
 * Many pipelines in one deployment, through the API: the list, each pipeline's own API under
 * /api/pipelines/:name (the default pipeline also under /api/pipeline), the orders example and a
 * test-only pipeline end to end into their own tables, two pipelines running at once, names that do
 * not exist, and a pipeline file with a mistake (set aside, the others running).
 */
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { describe, expect, it } from "vitest";
import type { Pipeline } from "../../src/engine/define-pipeline";
import { deployment } from "../../src/pipelines";
import { api, apiJson, finished } from "../support/runtime";
import { settingsFor } from "../support/settings";
import { events } from "../support/test-pipelines";

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { "content-type": "application/json" } });

describe("GET /api/pipelines", () => {
  it("lists every pipeline with its schedule, destination and last run, in declaration order", async () => {
    const { status, body } = await apiJson("/api/pipelines");
    expect(status).toBe(200);
    const [first, second] = body.pipelines;
    expect(first).toEqual({
      name: "default",
      description: "Sensor readings, categorised low/medium/high by value (the seed example)",
      state: "ready",
      problems: [],
      schedule: { cron: "0 3 * * *", every: null, timezone: "UTC", enabled: true, nextExecuteAt: expect.any(Number) },
      destination: "d1://scheduled-pipeline/metrics",
      params: null,
      lastRun: body.pipelines[0].lastRun,
      triggers: { after: [], wait: null, downstream: [], objects: null, events: { debounceMs: 0, maxWaitMs: 0, maxEvents: 1_000 } },
      waiting: [],
    });
    expect(second).toMatchObject({ name: "orders", schedule: { cron: "15 * * * *", every: null, timezone: "Europe/Berlin", enabled: true }, destination: "d1://scheduled-pipeline/orders", triggers: { after: [], downstream: ["orders-daily"] } });
    expect(body.pipelines.find((pipeline: { name: string }) => pipeline.name === "orders-daily").triggers).toEqual({
      after: [{ pipeline: "orders", slots: "day" }],
      wait: { waitMs: 2 * 3_600_000, whenLate: "miss" },
      downstream: [],
      objects: null,
      events: { debounceMs: 0, maxWaitMs: 0, maxEvents: 1_000 },
    });
    expect(body.pipelines.map((pipeline: { name: string }) => pipeline.name)).toContain("test-events");
  });

  it("shows the last finished run of each", async () => {
    const run = (await apiJson("/api/pipelines/test-events/trigger?wait=true", { method: "POST" })).body;
    const listed = (await apiJson("/api/pipelines")).body.pipelines.find((pipeline: { name: string }) => pipeline.name === "test-events");
    expect(listed.lastRun).toEqual({ pipelineId: run.pipelineId, status: run.run.status, endTime: run.run.endTime });
    expect(listed.schedule).toMatchObject({ cron: null, every: "6h" });
    expect((await apiJson("/api/pipelines/test-events")).body).toEqual(listed);
  });

  it("answers 404 pipeline_not_found for a name it does not have, on every path", async () => {
    for (const [path, method] of [["/api/pipelines/nope", "GET"], ["/api/pipelines/nope/trigger", "POST"], ["/api/pipelines/nope/last", "GET"], ["/api/pipelines/nope/schedule", "PUT"]] as const) {
      const response = await apiJson(path, { method });
      expect(response.status).toBe(404);
      expect(response.body.errors[0]).toEqual({ code: "pipeline_not_found", message: 'no pipeline named "nope" (GET /api/pipelines lists them)' });
    }
  });
});

describe("the orders pipeline", () => {
  it("loads its sample CSV into its own table: cents, derived columns, a rejected refund, a skipped test store, a duplicate", async () => {
    const { status, body, headers } = await apiJson("/api/pipelines/orders/trigger?wait=true", { method: "POST" });
    expect(status).toBe(200);
    const runId = body.pipelineId;
    expect(headers.get("Location")).toBe(`/api/pipelines/orders/runs/${runId}`);
    expect(body.run).toMatchObject({
      pipeline: "orders",
      status: "succeeded",
      accounting: { extracted: 42, loaded: 38, rejected: 3, skipped: 1, balanced: true },
      finalResult: { recordCount: 38, destination: "d1://scheduled-pipeline/orders", success: true },
      source: { name: "primary", kind: "sample", served: true },
    });
    expect(body.run.rejected).toEqual([
      { id: "hamburg/1002", stage: "transform", reason: "refund 1002 names no original order" },
      { id: "hamburg/1003", stage: "transform", reason: 'amount: must be an amount with at most two decimals, such as "19.99"' },
      { id: "berlin/1002", stage: "load", reason: 'duplicate id "berlin/1002" (first seen at position 1)' },
    ]);
    // The sample's first ten lines hold its problems; of them, these six are loaded.
    const rows = await env.DB.prepare("SELECT store_id, order_id, kind, amount_cents, net_cents, original_order_id, order_day FROM orders WHERE run_id = ? AND order_id IN ('1001', '1002', '1003', '2001', '2002') ORDER BY store_id, order_id").bind(runId).all();
    expect(rows.results).toEqual([
      { store_id: "berlin", order_id: "1001", kind: "sale", amount_cents: 1999, net_cents: 1999, original_order_id: null, order_day: "2026-11-28" },
      { store_id: "berlin", order_id: "1002", kind: "sale", amount_cents: 550, net_cents: 550, original_order_id: null, order_day: "2026-11-28" },
      { store_id: "berlin", order_id: "1003", kind: "refund", amount_cents: 1999, net_cents: -1999, original_order_id: "1001", order_day: "2026-11-28" },
      { store_id: "hamburg", order_id: "1001", kind: "sale", amount_cents: 4200, net_cents: 4200, original_order_id: null, order_day: "2026-11-28" },
      { store_id: "munich", order_id: "2001", kind: "sale", amount_cents: 725, net_cents: 725, original_order_id: null, order_day: "2026-11-28" },
      { store_id: "munich", order_id: "2002", kind: "sale", amount_cents: 125_000, net_cents: 125_000, original_order_id: null, order_day: "2026-11-28" },
    ]);
    const stores = await env.DB.prepare("SELECT store_id, COUNT(*) AS orders, SUM(net_cents) AS net_cents FROM orders WHERE run_id = ? GROUP BY store_id ORDER BY store_id").bind(runId).all();
    expect(stores.results).toEqual([
      { store_id: "berlin", orders: 14, net_cents: 15_739 },
      { store_id: "hamburg", orders: 12, net_cents: 18_735 },
      { store_id: "munich", orders: 12, net_cents: 142_805 },
    ]);
    const rejected = (await apiJson(`/api/pipelines/orders/runs/${runId}/rejected`)).body;
    expect(rejected.rejected.map((record: { position: number; raw: string }) => [record.position, record.raw])).toEqual([
      [4, JSON.stringify({ store_id: "hamburg", order_id: "1002", kind: "refund", amount: "12.00", currency: "EUR", original_order_id: "", ordered_at: "2026-11-28T12:30:00Z" })],
      [5, JSON.stringify({ store_id: "hamburg", order_id: "1003", kind: "sale", amount: "12.345", currency: "EUR", original_order_id: "", ordered_at: "2026-11-28T13:00:00Z" })],
      [9, JSON.stringify({ store_id: "berlin", order_id: "1002", kind: "sale", amount: "5.50", currency: "EUR", original_order_id: "", ordered_at: "2026-11-28T09:41:00Z" })],
    ]);
    // The run is the orders pipeline's, not the default's.
    expect((await api(`/api/pipeline/runs/${runId}`)).status).toBe(404);
    expect((await apiJson("/api/pipelines/orders/last")).body.pipelineId).toBe(runId);
  });

  it("keeps its schedule apart: a change to it leaves the default's alone, and DELETE returns to its own", async () => {
    const changed = await apiJson("/api/pipelines/orders/schedule", json("PATCH", { interval: "2h" }));
    expect(changed.body[0]).toMatchObject({ name: "orders", cron: null, every: "2h", timezone: "Europe/Berlin", source: "api" });
    expect((await apiJson("/api/pipeline/schedule")).body[0]).toMatchObject({ name: "daily-etl-pipeline", cron: "0 3 * * *", source: "config" });
    expect((await apiJson("/api/pipelines/orders/schedule", { method: "DELETE" })).body[0]).toMatchObject({ cron: "15 * * * *", every: null, source: "config" });
  });
});

describe("the default pipeline under both paths", () => {
  it("is the same pipeline: a run started under one is read under the other", async () => {
    const started = (await apiJson("/api/pipelines/default/trigger?wait=true", { method: "POST" })).body;
    expect(started.statusUrl).toBe(`/api/pipelines/default/runs/${started.pipelineId}`);
    const seen = (await apiJson(`/api/pipeline/runs/${started.pipelineId}`)).body;
    expect(seen).toMatchObject({ pipeline: "default", status: "succeeded", accounting: { extracted: 4, loaded: 3, rejected: 1, skipped: 0, balanced: true } });
    expect((await apiJson("/api/pipeline/last")).body.pipelineId).toBe((await apiJson("/api/pipelines/default/last")).body.pipelineId);
  });
});

describe("a pipeline defined only in the tests", () => {
  it("runs end to end: NDJSON sample, skips counted, the last of two events with one id wins", async () => {
    const { body } = await apiJson("/api/pipelines/test-events/trigger?wait=true", { method: "POST" });
    // With "last-wins" both e1 records are written, the second over the first: both count as loaded.
    expect(body.run).toMatchObject({
      pipeline: "test-events",
      status: "succeeded",
      accounting: { extracted: 6, loaded: 3, rejected: 2, skipped: 1, balanced: true },
      finalResult: { destination: "d1://scheduled-pipeline/test_events" },
    });
    expect(body.run.rejected).toEqual([
      { id: "e3", stage: "transform", reason: "weight -1 is negative" },
      { id: null, stage: "transform", reason: "Invalid input: expected object, received string" },
    ]);
    const rows = await env.DB.prepare("SELECT event_id, weight FROM test_events WHERE run_id = ? ORDER BY event_id").bind(body.pipelineId).all();
    expect(rows.results).toEqual([
      { event_id: "e1", weight: 5 },
      { event_id: "e4", weight: 1 },
    ]);
  });
});

describe("two pipelines at once", () => {
  it("run side by side, each one at a time", async () => {
    const [orders, readings] = await Promise.all([
      apiJson("/api/pipelines/orders/trigger", { method: "POST" }),
      apiJson("/api/pipeline/trigger", { method: "POST" }),
    ]);
    expect([orders.status, readings.status]).toEqual([202, 202]);
    const again = await apiJson("/api/pipelines/orders/trigger", { method: "POST" });
    const ordersRun = await finished(async () => (await apiJson(orders.body.statusUrl)).body);
    const readingsRun = await finished(async () => (await apiJson(readings.body.statusUrl)).body);
    expect([ordersRun.status, readingsRun.status]).toEqual(["succeeded", "succeeded"]);
    // Both were running at the same time: each started before the other ended.
    expect(ordersRun.startTime).toBeLessThan(readingsRun.endTime);
    expect(readingsRun.startTime).toBeLessThan(ordersRun.endTime);
    if (again.status === 409) expect(again.body.pipelineId).toBe(orders.body.pipelineId);
    else expect(again.status).toBe(202);
  });
});

describe("a pipeline file with a mistake", () => {
  // Added as the Worker would have loaded it: the deployment sets it aside; the Worker and the others go on.
  const broken = { ...events, name: "broken-file", schedule: { cron: "0 3 * *", timezone: "America/New_York" } } as Pipeline;
  deployment.add(broken);

  it("is listed as invalid with its errors and what it declares; the others stay ready", async () => {
    const { body } = await apiJson("/api/pipelines");
    const listed = body.pipelines.find((pipeline: { name: string }) => pipeline.name === "broken-file");
    expect(listed).toEqual({
      name: "broken-file",
      description: events.description,
      state: "invalid",
      problems: ['pipeline "broken-file": schedule.cron: cron "0 3 * *" has 4 fields; a cron expression has 5: minute hour day-of-month month day-of-week (for example "0 3 * * *")'],
      schedule: { cron: "0 3 * *", every: null, timezone: "America/New_York", enabled: false, nextExecuteAt: null },
      destination: "d1://scheduled-pipeline/test_events",
      params: null,
      lastRun: null,
      triggers: null,
      waiting: [],
    });
    expect(body.pipelines.find((pipeline: { name: string }) => pipeline.name === "default").state).toBe("ready");
    expect((await apiJson("/api/pipelines/broken-file")).body).toEqual(listed);
  });

  it("answers 503 invalid_definition on its own paths, naming the mistake, while the others run", async () => {
    for (const [path, method] of [["/api/pipelines/broken-file/trigger", "POST"], ["/api/pipelines/broken-file/last", "GET"], ["/api/pipelines/broken-file/schedule", "GET"]] as const) {
      const response = await apiJson(path, { method });
      expect(response.status).toBe(503);
      expect(response.body.errors[0]).toEqual({ code: "invalid_definition", message: expect.stringContaining('the definition of pipeline broken-file is invalid: pipeline "broken-file": schedule.cron: cron "0 3 * *" has 4 fields') });
    }
    expect((await apiJson("/api/pipelines/test-events/trigger?wait=true", { method: "POST" })).body.run.status).toBe("succeeded");
  });
});

describe("GET /api/runs/:id", () => {
  it("finds a run by its id alone, whichever pipeline ran it", async () => {
    const run = (await apiJson("/api/pipelines/orders/trigger?wait=true", { method: "POST" })).body.run;
    const found = await apiJson(`/api/runs/${run.pipelineId}`);
    expect(found.status).toBe(200);
    expect(found.body).toEqual((await apiJson(`/api/pipelines/orders/runs/${run.pipelineId}`)).body);
    expect(found.body.pipeline).toBe("orders");
  });

  it("answers 404 when no pipeline has it, and 409 naming them when two do", async () => {
    // An id no test gives a run (files share storage: test/agents/scheduler.test.ts has a "manual-1").
    const missing = await apiJson("/api/runs/manual-404404");
    expect(missing.status).toBe(404);
    expect(missing.body.errors[0]).toEqual({ code: "run_not_found", message: 'no run with id "manual-404404" in any pipeline' });
    const runId = `manual-${Date.now()}`;
    for (const name of ["default", "test-events"]) {
      const coordinator = await getAgentByName(env.PipelineCoordinator, name);
      await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings: settingsFor(name) });
      await finished(() => coordinator.getRun(runId));
    }
    const twice = await apiJson(`/api/runs/${runId}`);
    expect(twice.status).toBe(409);
    expect(twice.body).toEqual({ errors: [{ code: "ambiguous_run_id", message: `run id "${runId}" is in more than one pipeline (default, test-events); ask /api/pipelines/<name>/runs/${runId}` }], pipelines: ["default", "test-events"] });
  });
});
