/**
 * Alerts to ALERT_WEBHOOK_URL (MSW plays the receiver): sent for a failed run and for the first success
 * after it, not for an ordinary success; retried with backoff; and a failing receiver is visible in the
 * run without changing its outcome.
 */
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { ALERT_HOOK, network } from "../support/network";
import { apiJson, eventually } from "../support/runtime";
import { runPipeline } from "../support/runs";
import { httpSource, allPolicies } from "../support/settings";

const SOURCE = "https://source.example.test/records";
const good = () => HttpResponse.json([{ id: "ok", value: "1", timestamp: 0 }]);
const broken = () => new HttpResponse("nope", { status: 404, statusText: "Not Found" });

async function run() {
  return (await apiJson("/api/pipeline/trigger?wait=true", { method: "POST" })).body.run;
}

async function alertsOf(runId: string) {
  return (await eventually(() => apiJson(`/api/pipeline/runs/${runId}`), (r) => r.body.alerts.every((alert: any) => alert.status !== "pending"))).body.alerts;
}

describe("alerts", () => {
  it("posts a failed run, then the first success after it, and nothing for the next success", async () => {
    const received: any[] = [];
    network.use(http.post(ALERT_HOOK, async ({ request }) => (received.push(await request.json()), new HttpResponse(null, { status: 204 }))));

    network.use(http.get(SOURCE, broken));
    const failed = await run();
    expect(failed.status).toBe("failed");
    expect(await alertsOf(failed.pipelineId)).toEqual([{ event: "run_failed", status: "delivered", attempts: 1, at: expect.any(Number) }]);
    expect(received).toHaveLength(1);
    expect(received[0]).toEqual({
      text: `:red_circle: Pipeline *default*: run ${failed.pipelineId} failed in extract: extract stage failed: the source ${SOURCE} answered HTTP 404 Not Found. extracted 0, loaded 0, rejected 0. <https://pipeline.example.test/api/pipeline/runs/${failed.pipelineId}|details>`,
      event: "run_failed",
      pipeline: "default",
      runId: failed.pipelineId,
      status: "failed",
      trigger: "manual",
      stage: "extract",
      error: `extract stage failed: the source ${SOURCE} answered HTTP 404 Not Found`,
      counts: { extracted: 0, loaded: 0, rejected: 0 },
      durationMs: failed.totalDuration,
      statusUrl: `https://pipeline.example.test/api/pipeline/runs/${failed.pipelineId}`,
      startedAt: new Date(failed.startTime).toISOString(),
      finishedAt: new Date(failed.endTime).toISOString(),
    });

    network.use(http.get(SOURCE, good));
    const recovered = await run();
    expect(await alertsOf(recovered.pipelineId)).toMatchObject([{ event: "run_recovered", status: "delivered" }]);
    expect(received[1]).toMatchObject({ event: "run_recovered", status: "succeeded", counts: { extracted: 1, loaded: 1, rejected: 0 } });
    expect(received[1].text).toMatch(/^:large_green_circle: Pipeline \*default\*: run manual-\d+ succeeded again\. extracted 1, loaded 1, rejected 0\./);

    const ordinary = await run();
    expect(ordinary.alerts).toEqual([]);
    expect(received).toHaveLength(2);
  });

  it("retries a receiver that answers 503, and records the attempts", async () => {
    let calls = 0;
    network.use(http.post(ALERT_HOOK, () => (++calls < 3 ? new HttpResponse(null, { status: 503 }) : new HttpResponse(null, { status: 200 }))));
    network.use(http.get(SOURCE, broken));
    const failed = await run();
    expect(await alertsOf(failed.pipelineId)).toMatchObject([{ event: "run_failed", status: "delivered", attempts: 3 }]);
    expect(calls).toBe(3);
  });

  it("shows a receiver that keeps failing in the run, and the run's outcome stands", async () => {
    network.use(http.post(ALERT_HOOK, () => new HttpResponse(null, { status: 500 })));
    network.use(http.get(SOURCE, broken));
    const failed = await run();
    const alerts = await alertsOf(failed.pipelineId);
    expect(alerts).toMatchObject([{ event: "run_failed", status: "failed", attempts: 3, error: "the webhook answered HTTP 500" }]);
    const after = (await apiJson(`/api/pipeline/runs/${failed.pipelineId}`)).body;
    expect(after.status).toBe("failed");
    expect(after.error).toBe(failed.error);
  });

  it("waits as long as the receiver's Retry-After asks before trying again", async () => {
    const times: number[] = [];
    network.use(
      http.get(SOURCE, broken),
      http.post(ALERT_HOOK, () => {
        times.push(Date.now());
        return times.length === 1 ? new HttpResponse(null, { status: 429, headers: { "retry-after": "1" } }) : new HttpResponse(null, { status: 204 });
      }),
    );
    const { coordinator, runId } = await runPipeline({ sources: [httpSource(SOURCE)], retry: allPolicies({ maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5_000 }) });
    const alerts = (await eventually(() => coordinator.getRun(runId), (run) => run?.alerts.every((alert) => alert.status !== "pending") ?? false))!.alerts;
    expect(alerts).toMatchObject([{ event: "run_failed", status: "delivered", attempts: 2 }]);
    // The backoff alone would wait at most 1 ms; the clock here ticks coarsely, hence the margin.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(900);
  });
});
