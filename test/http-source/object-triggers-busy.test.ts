/**
 * Objects that land while their pipeline is busy: once their debounce is over they find another run
 * active, keep waiting (their run id is given up, not spent), and start their run from the retry alarm
 * once the pipeline is free. The busy run is held open by a slow HTTP source (MSW), which is why this
 * file is in the http-source project.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { OBJECTS_CALLBACK, type PipelineScheduler } from "../../src/agents/pipeline-scheduler";
import type { Pipeline } from "../../src/engine/define-pipeline";
import storeDrops from "../../src/pipelines/store-drops/pipeline";
import { network } from "../support/network";
import { eventually, finished, fireJob, uniqueName } from "../support/runtime";
import { httpSource, pipelineNamed, settingsFor } from "../support/settings";

const HEADER = "store_id,order_id,kind,amount,currency,original_order_id,ordered_at";

describe("objects landing while their pipeline is busy", () => {
  it("wait for the active run to end, then start one run of their own", async () => {
    const name = uniqueName("busy-objects");
    const prefix = `${name}/drops/`;
    const store = uniqueName("s");
    pipelineNamed(name, {
      ...storeDrops,
      name,
      schedule: { cron: "0 3 1 1 *" },
      sources: [{ ...storeDrops.sources[0]!, prefix } as never],
      triggers: { objects: { bucket: "scheduled-pipeline-uploads", prefix, suffix: ".csv", debounce: "1s" } },
    } as Pipeline);

    // A manual run of the pipeline, reading a slow export instead of the bucket, holds it busy.
    const url = `https://source.example.test/${name}.csv`;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    network.use(
      http.get(url, async () => {
        await gate;
        return new HttpResponse(`${HEADER}\n${store},1,sale,1.00,EUR,,2026-11-29T10:00:00Z\n`, { headers: { "content-type": "text/csv" } });
      }),
    );
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const manualId = `manual-${Date.now()}`;
    expect((await coordinator.startRun({ runId: manualId, trigger: "manual", scheduledFor: null, settings: settingsFor(name, { sources: [httpSource(url, { format: "csv" })] }) })).outcome).toBe("started");

    const stored = (await env.UPLOADS.put(`${prefix}berlin.csv`, `${HEADER}\n${store},2,sale,2.00,EUR,,2026-11-29T11:00:00Z\n`))!;
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    expect(await scheduler.objectsArrived([{ key: stored.key, etag: stored.etag, size: stored.size, eventTime: Date.now() }])).toEqual({ received: 1, repeated: 0 });

    // The debounce passes, the pipeline is busy: the object waits again, looked at in 15 s.
    const objectAlarms = () => runInDurableObject(scheduler, async (instance: PipelineScheduler) => (await instance.listSchedules()).filter((schedule) => schedule.callback === OBJECTS_CALLBACK).map((schedule) => schedule.time * 1000));
    await eventually(objectAlarms, (times) => times.length === 1 && times[0]! > Date.now() + 10_000);
    expect((await scheduler.arrivedObjects()).map((object) => [object.state, object.runId])).toEqual([["pending", null]]);
    expect((await coordinator.getHistory(10, null)).runs.map((run) => run.pipelineId)).toEqual([manualId]);

    release();
    expect((await finished(() => coordinator.getRun(manualId), 30_000)).status).toBe("succeeded");
    expect(await fireJob(scheduler, OBJECTS_CALLBACK)).toBe(true);
    const [object] = await eventually(() => scheduler.arrivedObjects(), (objects) => objects[0]?.state === "admitted");
    const run = await finished(() => coordinator.getRun(object!.runId!), 30_000);
    expect(run).toMatchObject({ status: "succeeded", trigger: "object", lineage: { objects: [{ key: stored.key, etag: stored.etag }] }, finalResult: { recordCount: 1 } });
    expect((await coordinator.getHistory(10, null)).runs).toHaveLength(2);
  });
});
