/**
 * Reliability against a real coordinator and real stage agents, with MSW playing the source: transient
 * failures are retried and permanent ones are not, a hung attempt is timed out and retried, a run can be
 * cancelled, a hundred simultaneous triggers start one run, an evicted coordinator resumes its run, a
 * stalled run is resumed and finally failed, and history stays bounded.
 */
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import type { PipelineCoordinator } from "../../src/agents/pipeline-coordinator";
import { listMetrics, listRejections } from "../support/db";
import { NOTHING_STAGED } from "../../src/domain/staged-data";
import { network } from "../support/network";
import { httpSource, settingsFor, uniquePipeline } from "../support/settings";
import { api, apiJson, eventually, stagedKeysAfterRun, stagesAfterRun, uniqueName } from "../support/runtime";

const SOURCE = "https://source.example.test/records";
const records = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, index) => ({ id: `${prefix}-${index}`, value: String(50 + index), timestamp: "2024-02-01T00:00:00Z", metadata: { type: "sensor" } }));

/** A response that only comes when the request is aborted (or never). */
function hang(request: { signal: AbortSignal }): Promise<Response> {
  return new Promise((resolve) => request.signal.addEventListener("abort", () => resolve(HttpResponse.error()), { once: true }));
}

/** Waits until the run has gone `ms` without progress, as the stall detector measures it. */
async function stalledFor(ms: number, read: () => Promise<{ lastProgressAt: number | null } | null>) {
  await eventually(read, (run) => run !== null && run.lastProgressAt !== null && Date.now() - run.lastProgressAt > ms);
}

async function runAndWait() {
  const { status, body } = await apiJson("/api/pipeline/trigger?wait=true", { method: "POST" });
  expect(status).toBe(200);
  return body.run;
}

async function waitUntilFinished(runId: string) {
  return (await eventually(() => apiJson(`/api/pipeline/runs/${runId}`), (r) => r.body.status !== "running", 10_000)).body;
}

describe("retries", () => {
  it("retries a 503 and succeeds on the next attempt, reporting both attempts", async () => {
    let calls = 0;
    network.use(http.get(SOURCE, () => (++calls === 1 ? new HttpResponse("busy", { status: 503, statusText: "Service Unavailable" }) : HttpResponse.json(records("retry", 2)))));
    const run = await runAndWait();
    expect(run.status).toBe("succeeded");
    expect(run.source).toMatchObject({ name: "primary", attempts: 2, attemptErrors: [`the source ${SOURCE} answered HTTP 503 Service Unavailable`], skipped: [] });
    expect(run.stages[0]).toMatchObject({ status: "succeeded", attempts: 1 });
    expect(run.accounting).toEqual({ extracted: 2, loaded: 2, rejected: 0, skipped: 0, balanced: true });
  });

  it("fails at once on a 404: retrying cannot help", async () => {
    let calls = 0;
    network.use(http.get(SOURCE, () => (calls++, new HttpResponse("gone", { status: 404, statusText: "Not Found" }))));
    const run = await runAndWait();
    expect(run.status).toBe("failed");
    expect(run.stages[0]).toMatchObject({ attempts: 1, error: `the source ${SOURCE} answered HTTP 404 Not Found` });
    expect(calls).toBe(1);
  });

  it("gives up on a source that keeps answering 429 after the configured 3 attempts", async () => {
    let calls = 0;
    network.use(http.get(SOURCE, () => (calls++, new HttpResponse("slow down", { status: 429, statusText: "Too Many Requests" }))));
    const run = await runAndWait();
    expect(run.status).toBe("failed");
    expect(run.stages[0].error).toBe(`the source ${SOURCE} answered HTTP 429 Too Many Requests (after 3 tries)`);
    expect(calls).toBe(3);
  });
});

describe("the stage timeout", () => {
  it("stops an attempt that hangs past it and retries the stage", async () => {
    let calls = 0;
    network.use(http.get(SOURCE, ({ request }) => (++calls === 1 ? hang(request) : HttpResponse.json(records("timeout", 3)))));
    const run = await runAndWait();
    expect(run.status).toBe("succeeded");
    expect(run.stages[0]).toMatchObject({ attempts: 2, attemptErrors: ["the extract stage did not finish within 1000 ms"] });
    expect(run.finalResult.recordCount).toBe(3);
    for (const { actual, pristine } of Object.values(await stagesAfterRun(run.pipelineId))) expect(actual).toEqual(pristine);
    expect(await stagedKeysAfterRun(run.pipelineId)).toEqual([]);
  });
});

describe("cancelling", () => {
  it("stops a running run, reports where it stood, cleans up, and lets the next trigger start", async () => {
    network.use(http.get(SOURCE, ({ request }) => hang(request)));
    const started = await apiJson("/api/pipeline/trigger", { method: "POST" });
    const runId = started.body.pipelineId;
    await eventually(() => apiJson(`/api/pipeline/runs/${runId}`), (r) => r.body.currentStage === "extract");

    const cancelled = await apiJson(`/api/pipeline/runs/${runId}/cancel`, {
      method: "POST",
      body: JSON.stringify({ reason: "wrong source" }),
      headers: { "content-type": "application/json" },
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ message: "Run cancelled", pipelineId: runId, status: "cancelled" });
    expect(cancelled.body.run).toMatchObject({ status: "cancelled", error: "cancelled: wrong source", finalResult: { success: false, recordCount: 0 } });
    expect(cancelled.body.run.stages.map((stage: any) => stage.status)).toEqual(["cancelled", "skipped", "skipped"]);
    expect((await apiJson(`/api/pipeline/runs/${runId}`)).body.status).toBe("cancelled");
    expect(await stagedKeysAfterRun(runId)).toEqual([]);
    for (const { actual, pristine } of Object.values(await stagesAfterRun(runId))) expect(actual).toEqual(pristine);

    network.use(http.get(SOURCE, () => HttpResponse.json(records("after-cancel", 1))));
    const next = await api("/api/pipeline/trigger?wait=true", { method: "POST" });
    expect(next.status).toBe(200);
  });
});

describe("one run at a time", () => {
  it("100 concurrent triggers start exactly one run; the other 99 answer 409 with its id", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    network.use(http.get(SOURCE, async () => (await gate, HttpResponse.json(records("burst", 2)))));
    const before = (await apiJson("/api/pipeline/history?limit=1")).body.summary.totalRuns;

    const responses = await Promise.all(Array.from({ length: 100 }, () => apiJson("/api/pipeline/trigger", { method: "POST" })));
    const started = responses.filter((response) => response.status === 202);
    const refused = responses.filter((response) => response.status === 409);
    expect(started).toHaveLength(1);
    expect(refused).toHaveLength(99);
    const runId = started[0]!.body.pipelineId;
    for (const response of refused) {
      expect(response.body.errors[0].code).toBe("run_in_progress");
      expect(response.body.pipelineId).toBe(runId);
    }

    release();
    expect((await waitUntilFinished(runId)).status).toBe("succeeded");
    expect((await apiJson("/api/pipeline/history?limit=1")).body.summary.totalRuns).toBe(before + 1);
  });
});

describe("resuming", () => {
  it("after every object is torn down mid-run (as in a crash), the next request resumes the run and loads each row once", async () => {
    let calls = 0;
    network.use(http.get(SOURCE, ({ request }) => (++calls === 1 ? hang(request) : HttpResponse.json(records("resumed", 5)))));
    const started = await apiJson("/api/pipeline/trigger", { method: "POST" });
    const runId = started.body.pipelineId;
    await eventually(async () => calls, (count) => count === 1);

    // Abrupt, unlike evictDurableObject (which waits for in-flight work): storage stays, memory is gone.
    await abortAllDurableObjects();

    const done = await waitUntilFinished(runId);
    expect(done).toMatchObject({ status: "succeeded", resumes: 1, finalResult: { recordCount: 5 } });
    expect(done.stages[0].attempts).toBe(2);
    expect(done.accounting).toEqual({ extracted: 5, loaded: 5, rejected: 0, skipped: 0, balanced: true });
    const rows = (await listMetrics(env.DB, "default")).filter((row) => row.id.startsWith("resumed-"));
    expect(rows.map((row) => row.id)).toEqual(["resumed-0", "resumed-1", "resumed-2", "resumed-3", "resumed-4"]);
  });
});

describe("the stall watchdog", () => {
  it("resumes a run that makes no progress, then fails it after maxResumes, saying why", async () => {
    network.use(http.get(SOURCE, ({ request }) => hang(request)));
    const name = uniquePipeline("stalled");
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const settings = settingsFor(name, {
      stageTimeoutMs: 60_000,
      stall: { stallTimeoutMs: 150, maxResumes: 1 },
      sources: [httpSource(SOURCE, { timeoutMs: 60_000 })],
    });
    await coordinator.startRun({ runId: "manual-7", trigger: "manual", scheduledFor: null, settings });
    const armed = await runInDurableObject(coordinator, async (instance: PipelineCoordinator) =>
      (await instance.listSchedules()).map((schedule) => schedule.callback),
    );
    expect(armed).toContain("watchdog");

    await stalledFor(150, () => coordinator.getRun("manual-7"));
    await coordinator.watchdog();
    const resumed = await coordinator.getRun("manual-7");
    expect(resumed).toMatchObject({ status: "running", resumes: 1 });
    await eventually(() => coordinator.getRun("manual-7"), (run) => run?.stages[0]?.attempts === 2);

    await stalledFor(150, () => coordinator.getRun("manual-7"));
    await coordinator.watchdog();
    const failed = await coordinator.getRun("manual-7");
    expect(failed?.status).toBe("failed");
    expect(failed?.error).toMatch(/^extract stage failed: no progress for \d+ ms after 1 resume \(limit 1\)$/);
    expect(await stagedKeysAfterRun("manual-7", name)).toEqual([]);
  });
});

describe("history", () => {
  it("keeps the newest N runs and prunes older runs' rejected records from D1", async () => {
    network.use(http.get(SOURCE, () => HttpResponse.json([{ id: "ok", value: "1", timestamp: 0 }, { id: "bad", value: "x", timestamp: 0 }])));
    const name = uniquePipeline("bounded");
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const settings = settingsFor(name, { historyLimit: 3, sources: [httpSource(SOURCE)] });
    const ids: string[] = [];
    for (let index = 1; index <= 5; index += 1) {
      const runId = `manual-${1_000 + index}`;
      ids.push(runId);
      await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings });
      expect((await coordinator.waitForRun(runId, 10_000))?.status).toBe("succeeded");
    }
    // Pruning follows the run's answer (it is off the path of whoever waits for the run).
    const history = await eventually(() => coordinator.getHistory(100, null), (page) => page.runs.length === 3);
    expect(history.runs.map((run) => run.pipelineId)).toEqual(["manual-1005", "manual-1004", "manual-1003"]);
    expect(history.summary.totalRuns).toBe(3);
    expect(await coordinator.getRun("manual-1001")).toBeNull();
    expect(await listRejections(env.DB, name, "manual-1001")).toEqual([]);
    expect(await listRejections(env.DB, name, "manual-1002")).toEqual([]);
    expect((await listRejections(env.DB, name, "manual-1005")).map((row) => row.record_id)).toEqual(["bad"]);
  });
});

describe("record-level garbage from a source", () => {
  it("rejects duplicate ids after the first, with the first one's position, and loads the rest", async () => {
    network.use(
      http.get(SOURCE, () =>
        HttpResponse.json([
          { id: "dup-a", value: "1", timestamp: 0 },
          { id: "dup-b", value: "2", timestamp: 0 },
          { id: "dup-a", value: "3", timestamp: 0 },
          { id: "dup-a", value: "4", timestamp: 0 },
        ]),
      ),
    );
    const run = await runAndWait();
    expect(run.status).toBe("succeeded");
    expect(run.rejected).toEqual([
      { id: "dup-a", stage: "load", reason: 'duplicate id "dup-a" (first seen at position 0)' },
      { id: "dup-a", stage: "load", reason: 'duplicate id "dup-a" (first seen at position 0)' },
    ]);
    const loaded = (await listMetrics(env.DB, "default")).filter((row) => row.id.startsWith("dup-"));
    expect(loaded.map((row) => [row.id, row.value])).toEqual([
      ["dup-a", 1],
      ["dup-b", 2],
    ]);
    expect(run.accounting).toEqual({ extracted: 4, loaded: 2, rejected: 2, skipped: 0, balanced: true });
  });

  it("handles very long strings, -0, 1e3, unicode and non-string values record by record", async () => {
    const long = "x".repeat(100_000);
    network.use(
      http.get(SOURCE, () =>
        HttpResponse.json([
          { id: "neg-zero", value: "-0", timestamp: 0 },
          { id: "sci", value: "1e3", timestamp: 0 },
          { id: "ünïcødé-✓", value: "7", timestamp: 0, metadata: { type: "capteur-é" } },
          { id: long, value: "1", timestamp: 0 },
          { id: "long-value", value: long, timestamp: 0 },
          { id: "bool", value: true, timestamp: 0 },
          { id: "obj", value: { amount: 1 }, timestamp: 0 },
          { id: ["array-id"], value: "1", timestamp: 0 },
        ]),
      ),
    );
    const run = await runAndWait();
    expect(run.status).toBe("succeeded");
    expect(run.accounting).toEqual({ extracted: 8, loaded: 3, rejected: 5, skipped: 0, balanced: true });
    expect(run.rejected.map((rejection: any) => rejection.reason)).toEqual([
      "id is 100000 characters long, the limit is 256",
      `value "${"x".repeat(60)}…" is not a number`,
      "value must be a number or a numeric string, got boolean",
      "value must be a number or a numeric string, got object",
      "id must be a string, got array",
    ]);
    const loaded = await listMetrics(env.DB, "default");
    expect(loaded.find((row) => row.id === "neg-zero")?.value).toBe(0);
    expect(loaded.find((row) => row.id === "sci")?.value).toBe(1000);
    expect(loaded.find((row) => row.id === "ünïcødé-✓")?.type).toBe("capteur-é");
    const stored = await listRejections(env.DB, "default", run.pipelineId);
    expect(stored.find((row) => row.position === 3)!.raw.length).toBeLessThanOrEqual(16 * 1024 + "…[truncated]".length);
    expect(stored.find((row) => row.position === 3)!.raw.endsWith("…[truncated]")).toBe(true);
  });
});

describe("a newer attempt of a stage", () => {
  it("waits until the older attempt has stopped reading before it reads the source itself", async () => {
    const events: string[] = [];
    let requests = 0;
    network.use(
      http.get(SOURCE, () => {
        const request = ++requests;
        events.push(`request ${request}`);
        if (request > 1) return HttpResponse.json(records("second", 2));
        // The first attempt gets a body that never ends: it is still reading when the second arrives.
        return new HttpResponse(
          new ReadableStream<Uint8Array>({
            pull: (controller) => new Promise<void>((resolve) => setTimeout(() => (events.push("read"), controller.enqueue(new TextEncoder().encode(" ".repeat(1024))), resolve()), 1)),
          }),
        );
      }),
    );
    const runId = uniqueName("overlap");
    const stage = env.ExtractStage.getByName(`${runId}:extract`);
    const task = (attempt: number) => ({
      runId,
      trigger: "manual" as const,
      scheduledFor: null,
      stage: "extract" as const,
      attempt,
      shard: 0,
      shards: 1,
      offset: 0,
      input: { records: [NOTHING_STAGED], rejected: [], raw: NOTHING_STAGED },
      asOf: Date.now(),
      params: {},
      settings: settingsFor(runId, { sources: [httpSource(SOURCE, { timeoutMs: 60_000 })] }),
      watermark: null,
    });
    const first = stage.runStage(task(1));
    await eventually(async () => requests, (count) => count === 1);
    await eventually(async () => events.filter((event) => event === "read").length, (reads) => reads >= 3);
    const newer = await env.ExtractStage.getByName(`${runId}:extract`).runStage(task(2));
    expect(await first).toMatchObject({ ok: false, cancelled: true, error: "superseded by attempt 2" });
    expect(newer).toMatchObject({ ok: true, report: { outputCount: 2 } });
    const second = events.indexOf("request 2");
    expect(events.slice(0, second)).toContain("read");
    expect(events.slice(second)).toEqual(["request 2"]);
  });
});
