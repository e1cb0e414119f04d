/**
 * A pipeline removed from the code: its scheduler still has the alarm a previous deploy armed. When that
 * alarm fires (or anything wakes the scheduler), it starts no run and disarms itself; no alarm is left to
 * fire into the missing definition. Its history stays in its coordinator, out of the API's reach.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SLOT_CALLBACK, type PipelineScheduler } from "../../src/agents/pipeline-scheduler";
import { apiJson, fireArmedSlot, uniqueName } from "../support/runtime";

describe("a removed pipeline's alarm", () => {
  it("fires into nothing: no run starts, and the scheduler is left with no alarm", async () => {
    const name = uniqueName("retired");
    const scheduler = env.PipelineScheduler.getByName(name);
    // The slot a previous deploy armed.
    const slot = Date.now() + 3_600_000;
    await runInDurableObject(scheduler, async (instance: PipelineScheduler) => {
      await instance.schedule(new Date(slot), SLOT_CALLBACK, { slot });
    });
    expect(await runInDurableObject(scheduler, async (instance: PipelineScheduler) => (await instance.listSchedules()).length)).toBe(1);

    expect(await fireArmedSlot(name)).toBe(true);

    expect(await runInDurableObject(scheduler, async (instance: PipelineScheduler) => instance.listSchedules())).toEqual([]);
    expect((await env.PipelineCoordinator.getByName(name).getHistory(10, null)).runs).toEqual([]);
    const [view] = await scheduler.describeSchedule();
    expect(view).toMatchObject({ enabled: false, nextExecuteAt: null, error: `pipeline ${name} is no longer defined in this deployment` });
  });

  it("a backfill it had under way is cancelled rather than left running forever", async () => {
    const coordinator = env.PipelineCoordinator.getByName(uniqueName("retired"));
    const started = await coordinator.startBackfill({ backfillId: "bf-1", from: 0, to: 3 * 86_400_000, reprocess: "none", params: {}, slots: [0, 86_400_000, 2 * 86_400_000], timezone: "UTC" });
    expect(started.outcome).toBe("started");
    const backfill = await coordinator.getBackfill("bf-1");
    expect(backfill).toMatchObject({ status: "cancelled", endedAt: expect.any(Number) });
    expect(backfill!.slots.map((slot) => slot.status)).toEqual(["cancelled", "cancelled", "cancelled"]);
    expect((await coordinator.getHistory(10, null)).runs).toEqual([]);
  });

  it("is not reachable through the API", async () => {
    expect((await apiJson(`/api/pipelines/${uniqueName("retired")}/history`)).status).toBe(404);
  });
});
