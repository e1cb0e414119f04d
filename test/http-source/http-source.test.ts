/**
 * With PIPELINE_SOURCE_URL set (see vitest.config.ts), the extract stage fetches records over HTTP; MSW
 * answers for the source host. Covers failing sources, a run held open by a slow source (409, live
 * status), and record-level garbage that is rejected while the rest of the run proceeds.
 */
import { env } from "cloudflare:workers";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { listMetrics, listRejections } from "../support/db";
import { network } from "../support/network";
import { api, apiJson, eventually, stagedKeysAfterRun, stagesAfterRun, stageStorage } from "../support/runtime";

const SOURCE = "https://source.example.test/records";

async function runAndWait() {
  const { status, body } = await apiJson("/api/pipeline/trigger?wait=true", { method: "POST" });
  expect(status).toBe(200);
  return body.run;
}

describe("a failing source fails the run with a clear error, kept in history and shown by /last", () => {
  it.each([
    ["HTTP 500", () => new HttpResponse("upstream exploded", { status: 500, statusText: "Internal Server Error" }), `the source ${SOURCE} answered HTTP 500 Internal Server Error`],
    ["truncated JSON", () => new HttpResponse('[{"id": "rec-1", "value": "1', { headers: { "content-type": "application/json" } }), "the source answered with truncated JSON"],
    ["malformed JSON", () => new HttpResponse('[{"id": "rec-1"} {"id": "rec-2"}]', { headers: { "content-type": "application/json" } }), "the source answered with malformed JSON: "],
    ["an HTML error page with status 200", () => new HttpResponse("<html><body>Oops</body></html>", { headers: { "content-type": "text/html" } }), "the source answered with HTML or XML, not JSON"],
    ["a JSON object instead of an array", () => HttpResponse.json({ records: [] }), "the source must answer with a JSON array of records, got object"],
    ["an empty body", () => new HttpResponse(""), "the source answered with an empty body"],
  ])("%s", async (_label, respond, message) => {
    network.use(http.get(SOURCE, respond));
    const before = (await apiJson("/api/pipeline/history?limit=1")).body.summary;

    const answered = await runAndWait();
    expect(answered.alerts).toMatchObject([{ event: "run_failed", status: "pending" }]);
    // The run as stored once its alert has gone out (the alert is recorded on the run).
    const run = (await eventually(() => apiJson(`/api/pipeline/runs/${answered.pipelineId}`), (r) => r.body.alerts[0]?.status !== "pending")).body;
    expect(run.status).toBe("failed");
    expect(run.error).toContain(`extract stage failed: ${message}`);
    expect(run.finalResult).toMatchObject({ recordCount: 0, success: false, errors: [run.error] });
    expect(run.stages.map((stage: any) => stage.status)).toEqual(["failed", "skipped", "skipped"]);
    expect(run.stages[0].error).toContain(message);
    expect(run.stagesCompleted).toEqual([]);
    // A 500 is worth retrying: the source gets three tries inside the stage; a bad payload fails at once.
    // Either way the stage is not retried on top: its sources already had their tries.
    expect(run.stages[0].attempts).toBe(1);
    if (message.includes("HTTP 500")) expect(run.error).toContain("(after 3 tries)");

    expect((await apiJson("/api/pipeline/last")).body).toEqual(run);
    const after = (await apiJson("/api/pipeline/history?limit=1")).body;
    expect(after.runs[0]).toEqual(run);
    expect(after.summary.failed).toBe(before.failed + 1);
    expect(after.summary.totalRuns).toBe(before.totalRuns + 1);

    expect(await stagedKeysAfterRun(run.pipelineId)).toEqual([]);
    for (const { actual, pristine } of Object.values(await stagesAfterRun(run.pipelineId))) expect(actual).toEqual(pristine);
  });
});

describe("a run held open by a slow source", () => {
  it("refuses a second trigger with 409 and the active run's id, and shows live status", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let fetched = 0;
    network.use(
      http.get(SOURCE, async () => {
        fetched += 1;
        await gate;
        return HttpResponse.json([{ id: "slow-1", value: "150", timestamp: "2024-02-01T00:00:00Z", metadata: { type: "sensor-x" } }]);
      }),
    );

    const first = await apiJson("/api/pipeline/trigger", { method: "POST" });
    expect(first.status).toBe(202);
    const runId = first.body.pipelineId;
    await eventually(async () => fetched, (count) => count === 1);

    const second = await apiJson("/api/pipeline/trigger", { method: "POST" });
    expect(second.status).toBe(409);
    expect(second.body).toEqual({
      errors: [{ code: "run_in_progress", message: `run ${runId} is still running; trigger again when it has finished` }],
      pipelineId: runId,
      statusUrl: `/api/pipeline/runs/${runId}`,
    });

    const live = await apiJson(`/api/pipeline/runs/${runId}`);
    expect(live.body).toMatchObject({ pipelineId: runId, status: "running", currentStage: "extract", endTime: null, totalDuration: null, finalResult: null });
    expect(live.body.stages.map((stage: any) => stage.status)).toEqual(["running", "pending", "pending"]);

    // While it works, the stage instance does hold its task: the "holds nothing afterwards" check can see storage.
    const working = await stageStorage(runId, "extract");
    expect(working.hasStageTask).toBe(true);
    expect(working.rowsByTable.stage_task).toBe(1);

    release();
    const done = (await eventually(() => apiJson(`/api/pipeline/runs/${runId}`), (r) => r.body.status !== "running")).body;
    expect(done).toMatchObject({ status: "succeeded", finalResult: { recordCount: 1, success: true } });
    expect(fetched).toBe(1);
    for (const { actual, pristine } of Object.values(await stagesAfterRun(runId))) expect(actual).toEqual(pristine);

    const third = await api("/api/pipeline/trigger?wait=true", { method: "POST" });
    expect(third.status).toBe(200);
  });
});

describe("records of mixed quality", () => {
  it("rejects each bad record with a reason, loads the rest, and accounts for every record", async () => {
    const records = [
      { id: "good-1", value: "12.5", timestamp: "2024-03-01T00:00:00Z", metadata: { type: "sensor-a" } },
      { value: "1", timestamp: "2024-03-01T00:00:00Z" },
      { id: "'; DROP TABLE metrics; --", value: 300, timestamp: 1_709_251_200_000 },
      { id: "bad-value", value: "12abc", timestamp: "2024-03-01T00:00:00Z" },
      null,
      { id: "bad-time", value: "5", timestamp: "soon" },
      { id: "capteur-é", value: "1e3", timestamp: "2024-03-01T00:00:00Z" },
      { id: "spaces", value: "  12 ", timestamp: "2024-03-01T00:00:00Z" },
      { id: "huge", value: "1e400", timestamp: "2024-03-01T00:00:00Z" },
    ];
    network.use(http.get(SOURCE, () => HttpResponse.json(records)));

    const run = await runAndWait();
    expect(run.status).toBe("succeeded");
    expect(run.stages.map((stage: any) => [stage.name, stage.inputCount, stage.outputCount, stage.rejectedCount])).toEqual([
      ["extract", 9, 9, 0],
      ["transform", 9, 3, 6],
      ["load", 3, 3, 0],
    ]);
    expect(run.finalResult.recordCount + run.rejectedCount).toBe(records.length);
    expect(run.rejected).toEqual([
      { id: null, stage: "transform", reason: "id is missing" },
      { id: "bad-value", stage: "transform", reason: 'value "12abc" is not a number' },
      { id: null, stage: "transform", reason: "record must be an object, got null" },
      { id: "bad-time", stage: "transform", reason: 'timestamp "soon" is not an ISO-8601 date' },
      { id: "spaces", stage: "transform", reason: 'value "  12 " has leading or trailing whitespace' },
      { id: "huge", stage: "transform", reason: 'value "1e400" is out of range' },
    ]);

    const loaded = (await listMetrics(env.DB, "default")).filter((row) => row.run_id === run.pipelineId);
    expect(loaded.map((row) => [row.id, row.value, row.category])).toEqual([
      ["'; DROP TABLE metrics; --", 300, "high"],
      ["capteur-é", 1000, "high"],
      ["good-1", 12.5, "low"],
    ]);
    const rejected = await listRejections(env.DB, "default", run.pipelineId);
    expect(rejected.map((row) => [row.position, row.record_id])).toEqual([
      [1, null],
      [3, "bad-value"],
      [4, null],
      [5, "bad-time"],
      [7, "spaces"],
      [8, "huge"],
    ]);
    expect(JSON.parse(rejected[2]!.raw)).toBeNull();
    expect(JSON.parse(rejected[0]!.raw)).toEqual(records[1]);
  });
});
