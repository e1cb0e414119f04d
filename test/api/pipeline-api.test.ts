/**
 * The seed README's curl flow against the real Worker: trigger, last, history, runs/:id and schedule,
 * with D1, R2 and the stage agents checked behind it. Uses the built-in sample source.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listMetrics, listRejections } from "../support/db";
import { api, apiJson, finished, stagedKeysAfterRun, stagesAfterRun } from "../support/runtime";

async function runOnce() {
  const { status, body, headers } = await apiJson("/api/pipeline/trigger?wait=true", { method: "POST" });
  expect(status).toBe(200);
  return { body, headers };
}

describe("POST /api/pipeline/trigger", () => {
  it("answers 202 at once with the run id, its status URL and a Location header", async () => {
    const { status, body, headers } = await apiJson("/api/pipeline/trigger", { method: "POST" });
    expect(status).toBe(202);
    expect(body).toEqual({
      message: "Pipeline triggered",
      pipelineId: expect.stringMatching(/^manual-\d{13}$/),
      status: "running",
      statusUrl: `/api/pipeline/runs/${body.pipelineId}`,
    });
    expect(headers.get("Location")).toBe(body.statusUrl);
    // Let it finish so it does not overlap the next test's run.
    expect((await finished(async () => (await apiJson(body.statusUrl)).body)).status).toBe("succeeded");
  });

  it("with ?wait=true answers 200 with the finished run: 4 extracted, rec-2 rejected, 3 loaded", async () => {
    const { body, headers } = await runOnce();
    expect(headers.get("Location")).toBe(`/api/pipeline/runs/${body.pipelineId}`);
    expect(body).toMatchObject({ message: "Pipeline triggered", status: "succeeded", statusUrl: `/api/pipeline/runs/${body.pipelineId}` });
    const run = body.run;
    expect(run).toMatchObject({
      pipelineId: body.pipelineId,
      trigger: "manual",
      status: "succeeded",
      stagesCompleted: ["extract", "transform", "load"],
      finalResult: { recordCount: 3, destination: "d1://scheduled-pipeline/metrics", success: true },
      rejected: [{ id: "rec-2", stage: "transform", reason: 'value "invalid" is not a number' }],
      rejectedCount: 1,
      currentStage: null,
    });
    expect(run.totalDuration).toBe(run.endTime - run.startTime);
    expect(run.error).toBeUndefined();
    expect(run.stages.map((stage: any) => [stage.name, stage.status, stage.inputCount, stage.outputCount, stage.rejectedCount])).toEqual([
      ["extract", "succeeded", 4, 4, 0],
      ["transform", "succeeded", 4, 3, 1],
      ["load", "succeeded", 3, 3, 0],
    ]);
    for (const stage of run.stages) {
      expect(stage.durationMs).toBe(stage.endTime - stage.startTime);
      expect(stage.startTime).toBeGreaterThanOrEqual(run.startTime);
      expect(stage.endTime).toBeLessThanOrEqual(run.endTime);
    }
  });

  it.each(["wait=yes", "wait=", "unknown=1"])("refuses the query %j with 400", async (query) => {
    const { status, body } = await apiJson(`/api/pipeline/trigger?${query}`, { method: "POST" });
    expect(status).toBe(400);
    expect(body.errors[0].code).toBe("invalid_query");
  });
});

describe("what a run leaves behind", () => {
  it("D1 holds exactly rec-1, rec-3 and rec-4, and still three rows after a second run", async () => {
    const first = await runOnce();
    const rows = await listMetrics(env.DB, "default");
    expect(rows.map(({ id, value, category, type, timestamp }) => ({ id, value, category, type, timestamp }))).toEqual([
      { id: "rec-1", value: 100.5, category: "medium", type: "sensor-a", timestamp: "2024-01-01T00:00:00.000Z" },
      { id: "rec-3", value: 250.75, category: "high", type: "sensor-a", timestamp: "2024-01-01T00:02:00.000Z" },
      { id: "rec-4", value: 99, category: "low", type: "sensor-c", timestamp: "2024-01-01T00:03:00.000Z" },
    ]);
    expect(new Set(rows.map((row) => row.run_id))).toEqual(new Set([first.body.pipelineId]));

    const second = await runOnce();
    const after = await listMetrics(env.DB, "default");
    expect(after.map((row) => row.id)).toEqual(["rec-1", "rec-3", "rec-4"]);
    expect(new Set(after.map((row) => row.run_id))).toEqual(new Set([second.body.pipelineId]));
  });

  it("rejected_records holds rec-2 with its stage, reason and raw record", async () => {
    const { body } = await runOnce();
    expect(await listRejections(env.DB, "default", body.pipelineId)).toEqual([
      {
        run_id: body.pipelineId,
        position: 1,
        record_id: "rec-2",
        stage: "transform",
        reason: 'value "invalid" is not a number',
        raw: JSON.stringify({ id: "rec-2", value: "invalid", timestamp: "2024-01-01T00:01:00.000Z", metadata: { type: "sensor-b" } }),
      },
    ]);
  });

  it("no staged objects remain and no stage instance keeps any storage", async () => {
    const { body } = await runOnce();
    expect(await stagedKeysAfterRun(body.pipelineId)).toEqual([]);
    const stages = await stagesAfterRun(body.pipelineId);
    for (const { actual, pristine } of Object.values(stages)) {
      expect(actual).toEqual(pristine);
      expect(actual.alarm).toBeNull();
      expect(actual.hasStageTask).toBe(false);
      expect(Object.values(actual.rowsByTable).every((rows) => rows === 0)).toBe(true);
    }
  });
});

describe("reading runs back", () => {
  it("runs/:id, last and the newest history entry agree", async () => {
    const { body } = await runOnce();
    const byId = await apiJson(`/api/pipeline/runs/${body.pipelineId}`);
    const last = await apiJson("/api/pipeline/last");
    const history = await apiJson("/api/pipeline/history?limit=1");
    expect(byId.status).toBe(200);
    expect(byId.body).toEqual(body.run);
    expect(last.body).toEqual(body.run);
    expect(history.body.runs).toEqual([body.run]);
  });

  it("history is newest first, pages with nextCursor and summarises every run", async () => {
    await runOnce();
    await runOnce();
    const all = await apiJson("/api/pipeline/history?limit=100");
    const total = all.body.runs.length;
    expect(total).toBeGreaterThanOrEqual(2);
    const starts = all.body.runs.map((run: any) => run.startTime);
    expect(starts).toEqual([...starts].sort((a, b) => b - a));
    expect(all.body.summary).toMatchObject({
      totalRuns: total,
      succeeded: total,
      failed: 0,
      successRate: 1,
      lastRunAt: starts[0],
    });
    expect(all.body.summary.averageDurationMs).toBeGreaterThan(0);
    expect(all.body.nextCursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await apiJson(`/api/pipeline/history?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.runs.map((run: any) => run.pipelineId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.body.runs.map((run: any) => run.pipelineId));
  });

  it.each([
    ["limit=-1", "limit: must be a whole number from 1 to 100"],
    ["limit=abc", "limit: must be a whole number from 1 to 100"],
    ["limit=0", "limit: must be a whole number from 1 to 100"],
    ["limit=101", "limit: must be a whole number from 1 to 100"],
    ["cursor=garbage", "cursor: is not a cursor returned by this API (use nextCursor from a previous page)"],
    ["page=2", "Unrecognized key"],
  ])("history?%s answers 400 naming the problem", async (query, message) => {
    const { status, body } = await apiJson(`/api/pipeline/history?${query}`);
    expect(status).toBe(400);
    expect(body).toEqual({ errors: [{ code: "invalid_query", message: expect.stringContaining(message) }] });
  });

  it("an unknown run id answers 404 in the error shape", async () => {
    const { status, body } = await apiJson("/api/pipeline/runs/manual-42");
    expect(status).toBe(404);
    expect(body).toEqual({ errors: [{ code: "run_not_found", message: 'no run with id "manual-42"' }] });
  });

  it("an absurdly long run id answers 400", async () => {
    const { status, body } = await apiJson(`/api/pipeline/runs/${"x".repeat(300)}`);
    expect(status).toBe(400);
    expect(body.errors[0].code).toBe("invalid_param");
  });
});

describe("GET /api/pipeline/schedule", () => {
  it("shows the seed's shape with the next 03:00 UTC", async () => {
    const { status, body } = await apiJson("/api/pipeline/schedule");
    expect(status).toBe(200);
    const now = Date.now();
    const next = new Date(now);
    next.setUTCHours(3, 0, 0, 0);
    if (next.getTime() <= now) next.setUTCDate(next.getUTCDate() + 1);
    expect(body).toEqual([
      {
        id: expect.any(String),
        name: "daily-etl-pipeline",
        scheduleType: "recurring",
        cron: "0 3 * * *",
        every: null,
        timezone: "UTC",
        interval: 86_400_000,
        enabled: true,
        missedRuns: "latest",
        maxCatchUp: 10,
        source: "config",
        nextExecuteAt: next.getTime(),
        nextExecuteAtLocal: next.toISOString().replace(".000Z", "Z"),
        lastExecutedAt: null,
        lastExecutedAtLocal: null,
        executionCount: 0,
        backlog: [],
        deadline: null,
      },
    ]);
  });
});

describe("health, unknown paths and wrong methods", () => {
  it("GET /api/health answers 200, and so does HEAD, without a body", async () => {
    expect(await apiJson("/api/health")).toMatchObject({ status: 200, body: { status: "ok" } });
    const head = await api("/api/health", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("an unknown path answers 404 in the error shape", async () => {
    expect(await apiJson("/api/pipeline/nope")).toMatchObject({
      status: 404,
      body: { errors: [{ code: "not_found", message: "no route for GET /api/pipeline/nope" }] },
    });
  });

  it.each([
    ["GET", "/api/pipeline/trigger", "POST"],
    ["DELETE", "/api/pipeline/last", "GET, HEAD"],
    ["POST", "/api/pipeline/history", "GET, HEAD"],
    ["PUT", "/api/pipeline/runs/manual-1", "GET, HEAD"],
    ["POST", "/api/health", "GET, HEAD"],
  ])("%s %s answers 405 with Allow: %s", async (method, path, allow) => {
    const { status, headers, body } = await apiJson(path, { method });
    expect(status).toBe(405);
    expect(headers.get("Allow")).toBe(allow);
    expect(body).toEqual({ errors: [{ code: "method_not_allowed", message: `${method} is not allowed on ${path}; use ${allow}` }] });
  });
});
