/**
 * The scheduler against real alarms: a fired slot starts exactly one run named after the slot and arms
 * the next 03:00; a slot delivered again starts nothing new; waking the scheduler any number of times, or
 * after a cron change, leaves exactly one armed slot. Each test uses its own scheduler (and coordinator).
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { describe, expect, it } from "vitest";
import { SLOT_CALLBACK, type PipelineScheduler } from "../../src/agents/pipeline-scheduler";
import { settingsFor, uniquePipeline } from "../support/settings";
import worker from "../../src/index";
import { fireArmedSlot, finished } from "../support/runtime";

const DAY = 86_400_000;

function next0300(after: number): number {
  const next = new Date(after);
  next.setUTCHours(3, 0, 0, 0);
  if (next.getTime() <= after) next.setTime(next.getTime() + DAY);
  return next.getTime();
}

async function armedSlots(name: string) {
  const stub = await getAgentByName(env.PipelineScheduler, name);
  return runInDurableObject(stub, async (instance: PipelineScheduler) =>
    (await instance.listSchedules())
      .filter((schedule) => schedule.callback === SLOT_CALLBACK)
      .map((schedule) => ({ id: schedule.id, type: schedule.type, slot: (schedule.payload as { slot: number }).slot, time: schedule.time })),
  );
}

async function coordinatorRuns(name: string) {
  const coordinator = await getAgentByName(env.PipelineCoordinator, name);
  return (await coordinator.getHistory(100, null)).runs;
}

const settings = (name: string) => settingsFor(name);

describe("arming", () => {
  it("a woken scheduler arms the next 03:00 UTC, once", async () => {
    const name = uniquePipeline("scheduler");
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    const before = Date.now();
    await scheduler.ensureArmed();
    const armed = await armedSlots(name);
    expect(armed).toEqual([{ id: expect.any(String), type: "scheduled", slot: next0300(before), time: next0300(before) / 1000 }]);
  });

  it("waking it many times, one after another and all at once, leaves exactly one armed slot", async () => {
    const name = uniquePipeline("scheduler");
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    for (let i = 0; i < 5; i += 1) await scheduler.ensureArmed();
    await Promise.all(Array.from({ length: 10 }, () => scheduler.ensureArmed()));
    expect(await armedSlots(name)).toHaveLength(1);
  });

  it("a slot left by an earlier cron expression is replaced, not added to", async () => {
    const name = uniquePipeline("scheduler");
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    await scheduler.ensureArmed();
    // What a deploy with PIPELINE_CRON="30 6 * * *" would have left armed.
    const stale = next0300(Date.now()) + 3.5 * 3_600_000;
    await runInDurableObject(scheduler, (instance: PipelineScheduler) => instance.schedule(new Date(stale), SLOT_CALLBACK, { slot: stale }));
    expect(await armedSlots(name)).toHaveLength(2);

    await scheduler.ensureArmed();
    const armed = await armedSlots(name);
    expect(armed.map((entry) => entry.slot)).toEqual([next0300(Date.now())]);
  });

  it("the Worker's hourly cron wakes the default scheduler and arms its slot", async () => {
    const ctx = createExecutionContext();
    worker.scheduled(createScheduledController({ cron: "17 * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const armed = await armedSlots("default");
    expect(armed).toHaveLength(1);
    expect(armed[0]?.slot).toBe(next0300(Date.now()));
    // Every pipeline, not only the default one: orders runs at minute 15 of every hour, Berlin time.
    const orders = await armedSlots("orders");
    expect(orders).toHaveLength(1);
    expect(new Date(orders[0]!.slot).getUTCMinutes()).toBe(15);
  });
});

describe("a fired slot", () => {
  it("starts one scheduled run named after the slot and arms the following 03:00", async () => {
    const name = uniquePipeline("scheduler");
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    await scheduler.ensureArmed();
    const [armed] = await armedSlots(name);
    const slot = armed!.slot;

    expect(await fireArmedSlot(name)).toBe(true);

    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const run = await finished(() => coordinator.getRun(`scheduled-${slot}`), 10_000);
    expect(run).toMatchObject({
      pipelineId: `scheduled-${slot}`,
      trigger: "scheduled",
      scheduledFor: slot,
      status: "succeeded",
      finalResult: { recordCount: 3, success: true },
    });
    expect((await coordinatorRuns(name)).map((r) => r.pipelineId)).toEqual([`scheduled-${slot}`]);

    const rearmed = await armedSlots(name);
    expect(rearmed.map((entry) => entry.slot)).toEqual([slot + DAY]);

    const [view] = await scheduler.describeSchedule();
    expect(view).toMatchObject({ executionCount: 1, nextExecuteAt: slot + DAY, id: rearmed[0]!.id });
    expect(view!.lastExecutedAt).toBeGreaterThan(0);
  });

  it("delivered again, in sequence or concurrently, starts no second run and counts once", async () => {
    const name = uniquePipeline("scheduler");
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    const slot = next0300(Date.now());
    await runInDurableObject(scheduler, (instance: PipelineScheduler) => instance.runScheduledSlot({ slot }));
    await runInDurableObject(scheduler, (instance: PipelineScheduler) => instance.runScheduledSlot({ slot }));
    await Promise.all(
      Array.from({ length: 5 }, () => runInDurableObject(scheduler, (instance: PipelineScheduler) => instance.runScheduledSlot({ slot }))),
    );
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    await finished(() => coordinator.getRun(`scheduled-${slot}`), 10_000);

    expect((await coordinatorRuns(name)).map((run) => run.pipelineId)).toEqual([`scheduled-${slot}`]);
    const [view] = await scheduler.describeSchedule();
    expect(view!.executionCount).toBe(1);
    // Delivered by hand rather than by its alarm, the slot's own alarm is still armed; when it fires it is
    // one more repeat delivery. After it, exactly one slot is armed: the next 03:00.
    expect((await armedSlots(name)).map((entry) => entry.slot).filter((armed) => armed > slot)).toEqual([slot + DAY]);
  });

  it("during an active run is recorded as skipped, naming the active run", async () => {
    const name = uniquePipeline("scheduler");
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const manual = await coordinator.startRun({ runId: "manual-1", trigger: "manual", scheduledFor: null, settings: settings(name) });
    expect(manual.outcome).toBe("started");

    const slot = next0300(Date.now());
    const skipped = await coordinator.startRun({ runId: `scheduled-${slot}`, trigger: "scheduled", scheduledFor: slot, settings: settings(name) });
    expect(skipped).toMatchObject({ outcome: "skipped", run: { status: "skipped", error: "skipped: run manual-1 was still active" } });

    await finished(() => coordinator.getRun("manual-1"), 10_000);
    const runs = await coordinatorRuns(name);
    expect(runs.map((run) => [run.pipelineId, run.status])).toEqual(
      expect.arrayContaining([
        ["manual-1", "succeeded"],
        [`scheduled-${slot}`, "skipped"],
      ]),
    );
    const page = await coordinator.getHistory(10, null);
    expect(page.summary).toMatchObject({ totalRuns: 2, succeeded: 1, skipped: 1, failed: 0 });
  });
});
