/**
 * Files landing in R2 start runs (`triggers.objects`): R2 event notifications, in the platform's message
 * shape, handed to the Worker's queue handler as the Queue delivers them (local R2 sends none, so the
 * tests send them), against workerd's real R2, D1, Durable Objects and alarms. Uploads within the
 * debounce make one run that lists its objects; each object (key and etag) is read by exactly one run
 * however often, and in whatever order, its notifications arrive; a delete starts nothing; a run that
 * belongs to no slot appears in the slot ledger by its objects.
 */
import { createExecutionContext, createMessageBatch, getQueueResult, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { describe, expect, it } from "vitest";
import { OBJECTS_CALLBACK, type PipelineScheduler } from "../../src/agents/pipeline-scheduler";
import type { ObjectStore } from "../../src/agents/scheduler/object-store";
import { putNotification } from "../../src/domain/object-notifications";
import type { Pipeline } from "../../src/engine/define-pipeline";
import worker from "../../src/index";
import storeDrops from "../../src/pipelines/store-drops/pipeline";
import { apiJson, eventually, finished, hasJob, uniqueName } from "../support/runtime";
import { pipelineNamed, settingsFor } from "../support/settings";

/** UPLOADS' bucket name (wrangler.jsonc), as notifications name it. */
const BUCKET = "scheduled-pipeline-uploads";
const HEADER = "store_id,order_id,kind,amount,currency,original_order_id,ordered_at";

function csv(store: string, ids: readonly (number | string)[], amount = "1.00"): string {
  return [HEADER, ...ids.map((id) => `${store},${id},sale,${amount},EUR,,2026-11-29T10:00:00Z`)].join("\n") + "\n";
}

/** A copy of store-drops reading its own prefix, started by objects landing there (a short debounce), its clock out of the way. */
function objectPipeline(debounce = "1s"): { name: string; prefix: string; store: string } {
  const name = uniqueName("objects");
  const prefix = `${name}/drops/`;
  pipelineNamed(name, {
    ...storeDrops,
    name,
    schedule: { cron: "0 3 1 1 *" },
    sources: [{ ...storeDrops.sources[0]!, prefix } as never],
    triggers: { objects: { bucket: BUCKET, prefix, suffix: ".csv", debounce } },
  } as Pipeline);
  return { name, prefix, store: uniqueName("s") };
}

async function put(key: string, body: string): Promise<{ key: string; etag: string; size: number }> {
  const stored = await env.UPLOADS.put(key, body);
  return { key: stored!.key, etag: stored!.etag, size: stored!.size };
}

let messages = 0;
/** Delivers one batch of messages to the Worker's queue handler, as the Queue would; what it acked and retried. */
async function deliver(...bodies: unknown[]) {
  const batch = createMessageBatch(
    "scheduled-pipeline-object-events",
    bodies.map((body) => ({ id: `message-${(messages += 1)}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  const result = await getQueueResult(batch, ctx);
  return { ids: batch.messages.map((message) => message.id), acked: result.explicitAcks, retried: result.retryMessages.map((message) => message.msgId) };
}

const scheduler = (name: string) => getAgentByName(env.PipelineScheduler, name);
const coordinator = (name: string) => getAgentByName(env.PipelineCoordinator, name);

/** The objects the pipeline's scheduler was told of, once every one of them is decided on (admitted or set aside). */
async function decided(name: string, count: number) {
  const stub = await scheduler(name);
  return eventually(
    () => stub.arrivedObjects(),
    (objects) => objects.length === count && objects.every((object) => object.state === "admitted" || object.state === "ignored"),
  );
}

/** When the scheduler's alarms for admitting objects are armed. */
function objectAlarms(stub: DurableObjectStub<PipelineScheduler>) {
  return runInDurableObject(stub, async (instance: PipelineScheduler) => (await instance.listSchedules()).filter((schedule) => schedule.callback === OBJECTS_CALLBACK).map((schedule) => schedule.time));
}

async function runsOf(name: string) {
  return (await (await coordinator(name)).getHistory(100, null)).runs;
}

async function rowsOf(store: string): Promise<{ order_id: string; run_id: string; amount_cents: number }[]> {
  return (await env.DB.prepare("SELECT order_id, run_id, amount_cents FROM store_drops WHERE store_id = ? ORDER BY order_id").bind(store).all<{ order_id: string; run_id: string; amount_cents: number }>()).results;
}

describe("objects landing in R2", () => {
  it("make one run when they land within the debounce; it lists its objects and appears in the slot ledger", async () => {
    const { name, prefix, store } = objectPipeline();
    const berlin = await put(`${prefix}berlin.csv`, csv(store, [1, 2]));
    const hamburg = await put(`${prefix}hamburg.csv`, csv(store, [3, 4]));
    const first = await deliver(putNotification(BUCKET, berlin, Date.now()));
    const second = await deliver(putNotification(BUCKET, hamburg, Date.now()));
    expect(first.acked).toEqual(first.ids);
    expect(second.acked).toEqual(second.ids);

    const objects = await decided(name, 2);
    expect(objects.map((object) => object.state)).toEqual(["admitted", "admitted"]);
    const runId = objects[0]!.runId!;
    expect(runId).toMatch(/^object-\d+$/);
    expect(objects[1]!.runId).toBe(runId);
    const run = await finished(async () => (await coordinator(name)).getRun(runId), 30_000);
    expect(run).toMatchObject({ status: "succeeded", trigger: "object", scheduledFor: null, finalResult: { recordCount: 4 } });
    expect(run.lineage.objects).toEqual([{ key: berlin.key, etag: berlin.etag }, { key: hamburg.key, etag: hamburg.etag }]);
    expect((await runsOf(name)).map((entry) => entry.pipelineId)).toEqual([runId]);

    // The run belongs to no slot: the ledger of the hour around it lists it beside the (no) slots.
    const around = (offset: number) => new Date(run.startTime + offset).toISOString();
    const ledger = await apiJson(`/api/pipelines/${name}/slots?from=${around(-3_600_000)}&to=${around(3_600_000)}`);
    expect(ledger.status).toBe(200);
    expect(ledger.body.triggered).toEqual([{ runId, trigger: "object", admittedAt: objects[0]!.decidedAt, objects: run.lineage.objects, events: [] }]);
  });

  it("make one run when the platform delivers the same notification twice, in one batch or later", async () => {
    const { name, prefix, store } = objectPipeline();
    const drop = await put(`${prefix}berlin.csv`, csv(store, [1, 2, 3]));
    const notification = putNotification(BUCKET, drop, Date.now());
    const twice = await deliver(notification, notification);
    expect(twice.acked).toEqual(twice.ids);
    const [object] = await decided(name, 1);
    const run = await finished(async () => (await coordinator(name)).getRun(object!.runId!), 30_000);
    expect(run.finalResult!.recordCount).toBe(3);

    // Again, after its run: known already, so nothing waits and no alarm is armed for it.
    const stub = await scheduler(name);
    const armed = await objectAlarms(stub);
    expect(await stub.objectsArrived([{ key: drop.key, etag: drop.etag, size: drop.size, eventTime: Date.now() }])).toEqual({ received: 0, repeated: 1 });
    expect((await deliver(notification)).retried).toEqual([]);
    expect(await objectAlarms(stub)).toEqual(armed);
    expect((await stub.arrivedObjects()).map((entry) => entry.state)).toEqual(["admitted"]);
    expect(await runsOf(name)).toHaveLength(1);
    expect((await rowsOf(store)).map((row) => row.run_id)).toEqual([run.pipelineId, run.pipelineId, run.pipelineId]);
  });

  it("read an object once when an older version's notification arrives after the newer one's", async () => {
    const { name, prefix, store } = objectPipeline();
    const older = await put(`${prefix}berlin.csv`, csv(store, [1, 2], "1.00"));
    const newer = await put(`${prefix}berlin.csv`, csv(store, [1, 2], "2.50"));
    expect(newer.etag).not.toBe(older.etag);

    // Out of order in one batch: the older one is superseded, the newer one runs.
    await deliver(putNotification(BUCKET, newer, Date.now()), putNotification(BUCKET, older, Date.now()));
    const objects = await decided(name, 2);
    const byEtag = new Map(objects.map((object) => [object.etag, object]));
    expect(byEtag.get(older.etag)).toMatchObject({ state: "ignored", reason: `superseded: the object now has etag ${newer.etag}, which is read as its own` });
    const admitted = byEtag.get(newer.etag)!;
    expect(admitted.state).toBe("admitted");
    const run = await finished(async () => (await coordinator(name)).getRun(admitted.runId!), 30_000);
    expect(run.lineage.objects).toEqual([{ key: newer.key, etag: newer.etag }]);
    expect((await rowsOf(store)).map((row) => [row.order_id, row.amount_cents])).toEqual([["1", 250], ["2", 250]]);

    // A third version lands and runs; then the first one's notification straggles in: set aside, nothing runs.
    const third = await put(`${prefix}berlin.csv`, csv(store, [1, 2], "3.00"));
    await deliver(putNotification(BUCKET, third, Date.now()));
    await decided(name, 3);
    const late = await deliver(putNotification(BUCKET, older, Date.now()));
    expect(late.acked).toEqual(late.ids);
    await eventually(() => runsOf(name), (runs) => runs.length === 2 && runs.every((entry) => entry.status !== "running"), 30_000);
    expect((await rowsOf(store)).map((row) => [row.order_id, row.amount_cents])).toEqual([["1", 300], ["2", 300]]);
    expect(await runsOf(name)).toHaveLength(2);
  });

  it("start nothing for a delete, and set aside an object deleted before its run or read by another run first", async () => {
    const { name, prefix, store } = objectPipeline();
    const removed = await deliver({ account: "local", action: "DeleteObject", bucket: BUCKET, object: { key: `${prefix}gone.csv` }, eventTime: new Date().toISOString() });
    expect(removed.acked).toEqual(removed.ids);
    const stub = await scheduler(name);
    expect(await stub.arrivedObjects()).toEqual([]);
    expect(await hasJob(stub, OBJECTS_CALLBACK)).toBe(false);

    const gone = await put(`${prefix}gone.csv`, csv(store, [1]));
    await deliver(putNotification(BUCKET, gone, Date.now()));
    await env.UPLOADS.delete(gone.key);
    // Read by a manual run before its notification came: the notification starts no second read.
    const early = await put(`${prefix}early.csv`, csv(store, [2]));
    const manualId = `manual-${Date.now()}`;
    expect((await (await coordinator(name)).startRun({ runId: manualId, trigger: "manual", scheduledFor: null, settings: settingsFor(name) })).outcome).toBe("started");
    const read = await finished(async () => (await coordinator(name)).getRun(manualId), 30_000);
    expect(read.finalResult!.recordCount).toBe(1);
    await deliver(putNotification(BUCKET, early, Date.now()));

    const objects = await decided(name, 2);
    expect(Object.fromEntries(objects.map((object) => [object.key.slice(prefix.length), [object.state, object.reason]]))).toEqual({
      "gone.csv": ["ignored", "deleted before its run started"],
      "early.csv": ["ignored", `read by ${read.pipelineId}`],
    });
    expect((await runsOf(name)).map((entry) => entry.pipelineId)).toEqual([read.pipelineId]);
  });

  it("acknowledge a message that is no notification, or concerns no pipeline, rather than retry it forever", async () => {
    const { prefix } = objectPipeline();
    const result = await deliver("hello", { action: "PutObject" }, putNotification("another-bucket", { key: `${prefix}x.csv`, etag: "e", size: 1 }, Date.now()), putNotification(BUCKET, { key: `${prefix}notes.txt`, etag: "e", size: 1 }, Date.now()));
    expect(result.acked).toEqual(result.ids);
    expect(result.retried).toEqual([]);
  });

  it("start the run under the id written before a scheduler stopped short of starting it, once", async () => {
    const { name, prefix, store } = objectPipeline("60s");
    const drop = await put(`${prefix}berlin.csv`, csv(store, [7]));
    const stub = await scheduler(name);
    await stub.objectsArrived([{ key: drop.key, etag: drop.etag, size: drop.size, eventTime: Date.now() }]);
    // What an admission leaves when it stops between writing the run id and starting the run.
    const runId = `object-${Date.now() - 1_000}`;
    await runInDurableObject(stub, (instance: PipelineScheduler) => (instance as unknown as { triggers: { objectStore: ObjectStore } }).triggers.objectStore.assign([drop], runId, Date.now()));

    await stub.admitObjects();
    const run = await finished(async () => (await coordinator(name)).getRun(runId), 30_000);
    expect(run).toMatchObject({ status: "succeeded", trigger: "object", lineage: { objects: [{ key: drop.key, etag: drop.etag }] } });
    await stub.admitObjects();
    expect((await runsOf(name)).map((entry) => entry.pipelineId)).toEqual([runId]);
    expect((await stub.arrivedObjects()).map((object) => [object.state, object.runId])).toEqual([["admitted", runId]]);
  });
});

describe("POST /api/notifications/r2 (local R2 sends none)", () => {
  it("puts the notification on the queue the Worker consumes, and the upload it describes runs", async () => {
    const { name, prefix, store } = objectPipeline();
    const upload = await apiJson(`/api/pipelines/${name}/uploads/berlin.csv`, { method: "PUT", body: csv(store, [1, 2]), headers: { "content-type": "text/csv" } });
    expect(upload.status).toBe(201);
    const sent = await apiJson("/api/notifications/r2", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(putNotification(BUCKET, upload.body, Date.now())),
    });
    expect(sent).toMatchObject({ status: 202, body: { message: "sent to the OBJECT_EVENTS queue, as R2 would have", pipelines: [{ name, debounceMs: 1_000 }], ignored: null } });
    // Through the local Queue (its batch timeout), the consumer, the scheduler's debounce, to the run.
    const [object] = await decided(name, 1);
    expect(object).toMatchObject({ key: `${prefix}berlin.csv`, etag: upload.body.etag, state: "admitted" });
    const run = await finished(async () => (await coordinator(name)).getRun(object!.runId!), 30_000);
    expect(run.finalResult!.recordCount).toBe(2);
  });
});
