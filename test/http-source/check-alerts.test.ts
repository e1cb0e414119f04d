/**
 * Alerts about dataset checks, to ALERT_WEBHOOK_URL (MSW plays the receiver): a run its error checks
 * blocked sends check_failed (and no run_failed) with each check's figures and first offending records; a
 * run that loaded with a failed warn check sends check_warned; a retry that accepted a failure sends
 * run_recovered and check_warned naming who accepted it (the API token's label).
 */
import { env } from "cloudflare:workers";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { checkedPipeline, type SaleRecord } from "../support/checked-pipelines";
import { ALERT_HOOK, network } from "../support/network";
import { apiJson, eventually } from "../support/runtime";

/** Captures what the webhook receives. */
function receiver(): any[] {
  const received: any[] = [];
  network.use(http.post(ALERT_HOOK, async ({ request }) => (received.push(await request.json()), new HttpResponse(null, { status: 204 }))));
  return received;
}

async function delivered(name: string, runId: string) {
  return (await eventually(() => apiJson(`/api/pipelines/${name}/runs/${runId}`), (response) => response.body.alerts.length > 0 && response.body.alerts.every((alert: any) => alert.status !== "pending"))).body.alerts;
}

const sale = (id: string, store: string | null = "berlin"): SaleRecord => ({ id, store });

describe("check alerts", () => {
  it("a blocked run sends check_failed with the figures, not run_failed; an accepted retry sends run_recovered and check_warned with who accepted", async () => {
    const received = receiver();
    const { name, table } = await checkedPipeline([sale("a"), sale("b", null), sale("c", null)], [{ type: "not_null", columns: ["store"] }, { type: "row_count", min: 10, severity: "warn" }]);
    const blocked = (await apiJson(`/api/pipelines/${name}/trigger?wait=true`, { method: "POST" })).body.run;
    expect(blocked.errorCode).toBe("checks_failed");
    expect(await delivered(name, blocked.pipelineId)).toEqual([{ event: "check_failed", status: "delivered", attempts: 1, at: expect.any(Number) }]);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      event: "check_failed",
      pipeline: name,
      runId: blocked.pipelineId,
      status: "failed",
      counts: { extracted: 3, loaded: 0, rejected: 0 },
      checks: [
        { name: "not_null(store)", type: "not_null", severity: "error", blocking: true, found: "2 offending rows", offending: 2, sample: [{ position: 1, id: "b", values: { store: null } }, { position: 2, id: "c", values: { store: null } }], accepted: null },
        { name: "row_count", severity: "warn", blocking: false, expected: "at least 10 rows", found: "3 rows", offending: null, accepted: null },
      ],
      statusUrl: `https://pipeline.example.test/api/pipelines/${name}/runs/${blocked.pipelineId}`,
    });
    expect(received[0].text).toBe(
      `:no_entry: Pipeline *${name}*: run ${blocked.pipelineId} was blocked by 1 failed check before load, and nothing was written: ` +
        `not_null(store): expected ${received[0].checks[0].expected}, found 2 offending rows (position 1 b store=null; position 2 c store=null); also failed (warn): row_count. ` +
        `extracted 3, loaded 0, rejected 0. <https://pipeline.example.test/api/pipelines/${name}/runs/${blocked.pipelineId}|details>`,
    );

    // Accepted by a labelled token: the label is who accepted it, in the run and in the alert.
    const app = createApp();
    const retried = await app.request(
      `/api/pipelines/${name}/runs/${blocked.pipelineId}/retry?wait=true`,
      { method: "POST", headers: { authorization: "Bearer t-alice", "content-type": "application/json" }, body: JSON.stringify({ acceptChecks: ["not_null(store)"] }) },
      { ...env, API_TOKEN: undefined, API_TOKENS: JSON.stringify({ alice: "t-alice" }), ALLOW_UNAUTHENTICATED: "false" },
    );
    expect(retried.status).toBe(200);
    const run = ((await retried.json()) as any).run;
    expect(run).toMatchObject({ status: "succeeded", acceptChecks: { names: ["not_null(store)"], by: "alice" } });
    expect((await delivered(name, run.pipelineId)).map((alert: any) => [alert.event, alert.status])).toEqual([
      ["run_recovered", "delivered"],
      ["check_warned", "delivered"],
    ]);
    const warned = received.find((message) => message.event === "check_warned");
    expect(received.map((message) => message.event).sort()).toEqual(["check_failed", "check_warned", "run_recovered"]);
    expect(warned).toMatchObject({
      runId: run.pipelineId,
      status: "succeeded",
      counts: { extracted: 3, loaded: 3, rejected: 0 },
      checks: [
        { name: "not_null(store)", severity: "error", blocking: false, offending: 2, accepted: { by: "alice", retryOf: blocked.pipelineId, at: expect.any(Number) } },
        { name: "row_count", severity: "warn", blocking: false, found: "3 rows" },
      ],
    });
    expect(warned.text).toContain(`not_null(store) (error, accepted by alice on the retry of ${blocked.pipelineId}): expected`);
    expect((await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n).toBe(3);
  });

  it("a run that loads with a failed warn check sends check_warned alone", async () => {
    const received = receiver();
    const { name } = await checkedPipeline([sale("a"), sale("b")], [{ type: "row_count", min: 5, severity: "warn" }, { type: "not_null", columns: ["store"] }]);
    const run = (await apiJson(`/api/pipelines/${name}/trigger?wait=true`, { method: "POST" })).body.run;
    expect(run.status).toBe("succeeded");
    expect(await delivered(name, run.pipelineId)).toMatchObject([{ event: "check_warned", status: "delivered" }]);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ event: "check_warned", status: "succeeded", checks: [{ name: "row_count", severity: "warn", blocking: false, expected: "at least 5 rows", found: "2 rows", sample: [], accepted: null }] });
    expect(received[0].text).toBe(
      `:large_yellow_circle: Pipeline *${name}*: run ${run.pipelineId} loaded with 1 failed check: row_count (warn): expected at least 5 rows, found 2 rows. ` +
        `extracted 2, loaded 2, rejected 0. <https://pipeline.example.test/api/pipelines/${name}/runs/${run.pipelineId}|details>`,
    );

    // All checks passing: no alert at all.
    const clean = await checkedPipeline([sale("a")], [{ type: "not_null", columns: ["store"] }]);
    const quiet = (await apiJson(`/api/pipelines/${clean.name}/trigger?wait=true`, { method: "POST" })).body.run;
    expect(quiet).toMatchObject({ status: "succeeded", alerts: [] });
    expect(received).toHaveLength(1);
  });
});
