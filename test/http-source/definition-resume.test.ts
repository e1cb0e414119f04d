/**
 * A run interrupted mid-extract and picked up again after "a deploy" that changed the transform: it goes
 * on under the new definition (nothing done so far depended on it), records the change, and every row is
 * the new transform's.
 */
import { abortAllDurableObjects } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import type { PipelineCoordinator } from "../../src/agents/pipeline-coordinator";
import { listMetrics } from "../support/db";
import { network } from "../support/network";
import { eventually, uniqueName } from "../support/runtime";
import { pipelineNamed, settingsFor } from "../support/settings";

const SOURCE = "https://source.example.test/records";

describe("a resumed run under a changed definition", () => {
  it("goes on under the new transform when the change came before the transform ran", async () => {
    const name = uniqueName("resumed-def");
    const definition = pipelineNamed(name);
    let calls = 0;
    network.use(
      http.get(SOURCE, ({ request }) =>
        ++calls === 1
          ? new Promise<Response>((resolve) => request.signal.addEventListener("abort", () => resolve(HttpResponse.error()), { once: true }))
          : HttpResponse.json([1, 2, 3].map((index) => ({ id: `${name}-${index}`, value: String(index), timestamp: "2024-02-01T00:00:00Z", metadata: { type: "sensor" } }))),
      ),
    );
    const coordinator = await getAgentByName<Env, PipelineCoordinator>(env.PipelineCoordinator, name);
    const runId = `manual-${Date.now()}`;
    await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings: settingsFor(name) });
    await eventually(async () => calls, (count) => count === 1);
    const before = (await coordinator.getRun(runId))!.definition!.fingerprint;

    await abortAllDurableObjects();
    const original = definition.transform;
    definition.transform = ((raw: never, context: never) => {
      const row = (original as (raw: never, context: never) => Record<string, unknown>)(raw, context);
      return typeof row.value === "number" ? { ...row, value: row.value * 10 } : row;
    }) as never;

    const again = await getAgentByName<Env, PipelineCoordinator>(env.PipelineCoordinator, name);
    const done = await eventually(() => again.getRun(runId), (run) => run !== null && run.status !== "running", 15_000);
    expect(done).toMatchObject({ status: "succeeded", resumes: 1, finalResult: { recordCount: 3 } });
    expect(done!.definition!.fingerprint).not.toBe(before);
    expect(done!.definition!.changes).toEqual([expect.objectContaining({ from: before, to: done!.definition!.fingerprint, restartedFrom: null })]);
    expect((await listMetrics(env.DB, name)).map((row) => row.value)).toEqual([10, 20, 30]);
  });
});
