/**
 * Runs record the definition's fingerprint; a retry under a changed definition runs again what the change
 * makes stale, says so, and never mixes output of the two.
 */
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { describe, expect, it } from "vitest";
import { createTableSql } from "../../src/destinations/d1/table-ddl";
import { columnSettings } from "../../src/engine/columns";
import type { Pipeline } from "../../src/engine/define-pipeline";
import { orderRow } from "../../src/pipelines/orders/order-row";
import orders from "../../src/pipelines/orders/pipeline";
import { finished, uniqueName } from "../support/runtime";
import { pipelineNamed, settingsFor } from "../support/settings";

describe("a run's definition", () => {
  it("is recorded on the run, and a retry after the transform changed runs transform again with the new code", async () => {
    const name = uniqueName("defs");
    const table = `defs_${name.replaceAll("-", "_")}`;
    // Without the orders checks: the changed transform's lower-case currencies are what this test wants loaded.
    const definition = pipelineNamed(name, { ...orders, name, destination: { ...orders.destination, table }, checks: undefined } as Pipeline);
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const runId = `manual-${Date.now()}`;
    await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings: settingsFor(name) });
    const failed = await finished(() => coordinator.getRun(runId), 20_000);
    expect(failed.status).toBe("failed"); // no table yet
    expect(failed.definition).toMatchObject({ fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/), workerVersion: { id: expect.any(String) }, changes: [] });

    await env.DB.exec(createTableSql({ table, key: ["store_id", "order_id"], columns: columnSettings(orders.destination.columns) }));
    // A deploy that changes the transform: currencies lower-cased.
    definition.transform = ((order: Parameters<typeof orderRow>[0]) => {
      const row = orderRow(order);
      return "currency" in row ? { ...row, currency: row.currency.toLowerCase() } : row;
    }) as never;
    const retried = await coordinator.retryRun(runId, { waitMs: 20_000 });
    expect(retried.outcome).toBe("started");
    const retry = (retried as { run: { pipelineId: string; status: string; retry: { reused: string[]; note: string | null }; definition: { fingerprint: string } } }).run;
    expect(retry.status).toBe("succeeded");
    expect(retry.retry.reused).toEqual(["extract"]);
    expect(retry.retry.note).toBe(`the definition changed since run ${runId} (${failed.definition!.fingerprint} → now): transform runs again`);
    expect(retry.definition.fingerprint).not.toBe(failed.definition!.fingerprint);
    const currencies = await env.DB.prepare(`SELECT DISTINCT currency FROM ${table}`).all<{ currency: string }>();
    expect(currencies.results).toEqual([{ currency: "eur" }]);
  });
});
