/**
 * Rerunning a failed run from the stage that failed, against a source MSW plays: the retry reuses the
 * staged output of the stages that succeeded and does not read the source again; once the staged data
 * has expired it starts from extract and says so; what cannot be retried answers 409.
 */
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { network } from "../support/network";
import { apiJson, eventually, finished, uniqueName } from "../support/runtime";
import { createDailyTable, DAILY_SOURCE, daily, dailyPipeline } from "../support/test-pipelines";
import { runPrefix } from "../../src/staging/staging-store";
import { runKey } from "../../src/domain/stages";

const post = (path: string) => apiJson(path, { method: "POST" });

/** A copy of the daily pipeline loading into a table that does not exist yet: its load fails. */
function withMissingTable(prefix: string, history?: { keepFailedStagingMs: number }) {
  const table = `t_${uniqueName(prefix).replace(/-/g, "_")}`;
  const name = dailyPipeline(uniqueName(prefix), {
    destination: { ...daily.destination, table } as typeof daily.destination,
    tuning: { ...daily.tuning, ...(history ? { history } : {}) },
  });
  return { name, table, base: `/api/pipelines/${name}` };
}

function countingSource() {
  const reads: string[] = [];
  network.use(
    http.get(`${DAILY_SOURCE}/:file`, ({ params }) => {
      const day = String(params.file).replace(/\.json$/, "");
      reads.push(day);
      // Notes make the extracted chunk too large to travel inline, so it is staged in R2 and kept there.
      const notes = "n".repeat(4_000);
      return HttpResponse.json([
        { id: "a", day, value: 1, notes },
        { id: "b", day, value: "not a number", notes },
        { id: "c", day, value: 3, notes },
      ]);
    }),
  );
  return reads;
}

async function stagedKeys(name: string, runId: string): Promise<string[]> {
  return (await env.STAGING.list({ prefix: runPrefix(runKey(name, runId)) })).objects.map((object) => object.key);
}

describe("retry", () => {
  it("reruns a run that failed in load from load: the source is not read again, and the books balance", async () => {
    const { name, table, base } = withMissingTable("retry");
    const reads = countingSource();
    const failed = (await post(`${base}/trigger?wait=true`)).body.run;
    expect(failed).toMatchObject({ status: "failed", currentStage: null });
    expect(failed.error).toContain(`the D1 table ${table} does not exist`);
    expect(failed.stages.map((stage: any) => stage.status)).toEqual(["succeeded", "succeeded", "failed"]);
    expect(reads).toHaveLength(1);
    // Its staged data is kept for the retry.
    expect(await stagedKeys(name, failed.pipelineId)).not.toEqual([]);

    await createDailyTable(table); // the missing migration, applied
    const retried = await post(`${base}/runs/${failed.pipelineId}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.body).toEqual({
      message: `Retry of ${failed.pipelineId} started from load`,
      pipelineId: expect.stringMatching(/^retry-\d+$/),
      status: "running",
      statusUrl: `${base}/runs/${retried.body.pipelineId}`,
      retry: { of: failed.pipelineId, fromStage: "load", reused: ["extract", "transform"], note: null },
    });
    const retry = await finished(async () => (await apiJson(retried.body.statusUrl)).body);
    expect(retry).toMatchObject({ status: "succeeded", trigger: "retry", scheduledFor: failed.scheduledFor, params: failed.params, accounting: { extracted: 3, loaded: 2, rejected: 1, skipped: 0, balanced: true } });
    expect(retry.stages.map((stage: any) => [stage.name, stage.reusedFrom ?? null, stage.attempts])).toEqual([
      ["extract", failed.pipelineId, 0],
      ["transform", failed.pipelineId, 0],
      ["load", null, 1],
    ]);
    expect(reads).toHaveLength(1);
    const rows = await env.DB.prepare(`SELECT reading_id, run_id FROM ${table} ORDER BY reading_id`).all();
    expect(rows.results).toEqual([
      { reading_id: "a", run_id: retry.pipelineId },
      { reading_id: "c", run_id: retry.pipelineId },
    ]);
    // The rejected record is the retry's too, with its reason, in D1.
    const rejected = (await apiJson(`${retried.body.statusUrl}/rejected`)).body.rejected;
    expect(rejected).toEqual([expect.objectContaining({ position: 1, id: null, stage: "transform", reason: "value: Invalid input: expected number, received string" })]);
    expect((await apiJson(`${base}/runs/${failed.pipelineId}`)).body.retriedBy).toEqual([retry.pipelineId]);

    const again = await post(`${base}/runs/${retry.pipelineId}/retry`);
    expect(again.status).toBe(409);
    expect(again.body.errors[0]).toEqual({ code: "run_not_retryable", message: `run ${retry.pipelineId} succeeded; there is nothing to retry (trigger a new run instead)` });
    expect((await post(`${base}/runs/nope/retry`)).status).toBe(404);
  });

  it("starts from extract, and says why, once the staged data has expired", async () => {
    const { name, table, base } = withMissingTable("expired", { keepFailedStagingMs: 100 });
    const reads = countingSource();
    const failed = (await post(`${base}/trigger?wait=true`)).body.run;
    expect(failed.status).toBe("failed");
    expect(await stagedKeys(name, failed.pipelineId)).not.toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    // The coordinator's sweep (hourly, and on every wake) removes what is due.
    await (await getAgentByName(env.PipelineCoordinator, name)).watchdog();
    await eventually(() => stagedKeys(name, failed.pipelineId), (keys) => keys.length === 0);

    await createDailyTable(table);
    const retried = await post(`${base}/runs/${failed.pipelineId}/retry?wait=true`);
    expect(retried.status).toBe(200);
    expect(retried.body.retry).toEqual({
      of: failed.pipelineId,
      fromStage: "extract",
      reused: [],
      note: expect.stringMatching(new RegExp(`^the staged data of run ${failed.pipelineId} was removed on .* \\(kept for history.keepFailedStagingMs after the run\\); starting from extract$`)),
    });
    expect(retried.body.run.status).toBe("succeeded");
    expect(reads).toHaveLength(2);
  });

  it("answers 409 run_in_progress while another run is active, and run_not_retryable for the running one", async () => {
    const { base } = withMissingTable("busy");
    countingSource();
    const failed = (await post(`${base}/trigger?wait=true`)).body.run;
    expect(failed.status).toBe("failed");

    let release!: () => void;
    const hold = new Promise<void>((resolve) => (release = resolve));
    network.use(http.get(`${DAILY_SOURCE}/:file`, async () => (await hold, HttpResponse.json([]))));
    const running = (await post(`${base}/trigger`)).body;
    expect(running.status).toBe("running");

    const busy = await post(`${base}/runs/${failed.pipelineId}/retry`);
    expect(busy.status).toBe(409);
    expect(busy.body).toMatchObject({ errors: [{ code: "run_in_progress", message: `run ${running.pipelineId} is still running; retry again when it has finished` }], pipelineId: running.pipelineId });
    const itself = await post(`${base}/runs/${running.pipelineId}/retry`);
    expect(itself.status).toBe(409);
    expect(itself.body.errors[0]).toEqual({ code: "run_not_retryable", message: `run ${running.pipelineId} is still running; cancel it first, or wait for it to end` });
    release();
    await finished(async () => (await apiJson(running.statusUrl)).body);
  });
});
