/**
 * Upstream pipelines, slot by slot, against real agents: a downstream slot whose time has come waits
 * (`waiting` in its ledger, with what for) until its upstream's slots of its window have succeeded, then
 * runs once, recording the upstream runs it consumed; late, it alerts `upstream_late` and is missed or
 * runs anyway as its policy says. A backfill of the upstream with `cascade: true` reaches the slots
 * downstream, each once, after all of their upstreams.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { describe, expect, it } from "vitest";
import type { Pipeline } from "../../src/engine/define-pipeline";
import defaultPipeline from "../../src/pipelines/default/pipeline";
import { apiJson, eventually, finished, uniqueName } from "../support/runtime";
import { pipelineNamed, settingsFor } from "../support/settings";

const HOUR = 3_600_000;

/** An hourly copy of the seed's pipeline (its built-in sample), with `triggers`. */
function hourly(prefix: string, triggers?: Pipeline["triggers"]): string {
  const name = uniqueName(prefix);
  // Every slot that passed is delivered (missed-run policy "all"), so a test can hold an older one.
  pipelineNamed(name, { ...defaultPipeline, schedule: { every: "1h", missedRuns: "all" }, vars: {}, ...(triggers ? { triggers } : {}) } as Pipeline);
  return name;
}

/** The scheduler as if it had run since `since`: its ledger expects the slots after that. */
async function existedSince(name: string, since: number): Promise<void> {
  const scheduler = await getAgentByName(env.PipelineScheduler, name);
  await scheduler.health();
  await runInDurableObject(scheduler, (_instance, state) => {
    state.storage.sql.exec("UPDATE schedule_periods SET start = ?", since);
    state.storage.sql.exec("UPDATE schedule_state SET last_slot = ?", since);
  });
}

/** Delivers the slots due since the scheduler last looked, as its alarm would. */
async function deliverDueSlots(name: string): Promise<void> {
  await (await getAgentByName(env.PipelineScheduler, name)).ensureArmed();
}

async function runSlot(name: string, slot: number) {
  const coordinator = await getAgentByName(env.PipelineCoordinator, name);
  await coordinator.startRun({ runId: `scheduled-${slot}`, trigger: "scheduled", scheduledFor: slot, settings: settingsFor(name) });
  return finished(() => coordinator.getRun(`scheduled-${slot}`));
}

async function runsOf(name: string) {
  return (await apiJson(`/api/pipelines/${name}/history?limit=100`)).body.runs as any[];
}

async function ledgerEntry(name: string, slot: number) {
  const { body } = await apiJson(`/api/pipelines/${name}/slots?from=${new Date(slot).toISOString()}&to=${new Date(slot + 1).toISOString()}`);
  return body.slots.find((entry: { scheduledFor: number }) => entry.scheduledFor === slot);
}

/** The newest full hour: a slot of every "1h" pipeline, already past. */
const lastHour = () => Math.floor(Date.now() / HOUR) * HOUR;

describe("a slot that waits for its upstream", () => {
  it("waits while the upstream slot has not run, then runs once when it succeeds, consuming it", async () => {
    const up = hourly("up");
    const down = hourly("down", { after: [{ pipeline: up, slots: "interval" }], wait: "3h" });
    const slot = lastHour();
    await existedSince(up, slot - 2 * HOUR);
    await existedSince(down, slot - 1);
    await deliverDueSlots(down);

    const waiting = await ledgerEntry(down, slot);
    expect(waiting).toMatchObject({ state: "waiting", runId: null, waitingFor: [{ pipeline: up, from: slot - HOUR + 1, to: slot + 1, count: 1, problem: null }] });
    expect(waiting.reason).toBe(`waiting for its upstream: ${up}: 1 slot not succeeded`);
    const pipeline = (await apiJson(`/api/pipelines/${down}`)).body;
    expect(pipeline.waiting).toEqual([{ scheduledFor: slot, scheduledForLocal: new Date(slot).toISOString().replace(".000Z", "Z"), since: expect.any(Number), waitingFor: waiting.waitingFor }]);
    expect(pipeline.triggers.after).toEqual([{ pipeline: up, slots: "interval" }]);
    expect((await apiJson(`/api/pipelines/${up}`)).body.triggers.downstream).toEqual([down]);
    expect(await runsOf(down)).toEqual([]);

    // The upstream's slot runs and succeeds: its coordinator tells the downstream, which starts the slot.
    const upstreamRun = await runSlot(up, slot);
    expect(upstreamRun.status).toBe("succeeded");
    const coordinator = await getAgentByName(env.PipelineCoordinator, down);
    const run = await finished(() => coordinator.getRun(`scheduled-${slot}`));
    expect(run).toMatchObject({ pipelineId: `scheduled-${slot}`, trigger: "upstream", scheduledFor: slot, status: "succeeded" });
    expect(run.lineage).toEqual({ upstream: [{ pipeline: up, scheduledFor: slot, runId: `scheduled-${slot}` }], missingUpstream: null, objects: [], events: [], cascadeOf: null });

    // Told again, and looked at again by the hourly check: nothing more runs.
    const scheduler = await getAgentByName(env.PipelineScheduler, down);
    await scheduler.upstreamSucceeded({ pipeline: up, slot, runId: `scheduled-${slot}` });
    await scheduler.checkWaiting();
    await scheduler.ensureArmed();
    expect((await runsOf(down)).map((entry) => entry.pipelineId)).toEqual([`scheduled-${slot}`]);
    expect(await ledgerEntry(down, slot)).toMatchObject({ state: "ran", runId: `scheduled-${slot}`, status: "succeeded", waitingFor: null });
    expect((await apiJson(`/api/pipelines/${down}`)).body.waiting).toEqual([]);
  });

  it("runs at its time, as a scheduled run, when its upstream is in already", async () => {
    const up = hourly("up");
    const down = hourly("down", { after: [{ pipeline: up, slots: "interval" }], wait: "3h" });
    const slot = lastHour();
    await existedSince(up, slot - 2 * HOUR);
    await runSlot(up, slot);
    await existedSince(down, slot - 1);
    await deliverDueSlots(down);
    const run = await finished(async () => (await runsOf(down))[0] ?? null);
    expect(run).toMatchObject({ pipelineId: `scheduled-${slot}`, trigger: "scheduled", status: "succeeded", lineage: { upstream: [{ pipeline: up, scheduledFor: slot, runId: `scheduled-${slot}` }] } });
  });

  it("keeps waiting while the upstream slot failed, and is released by its retry's success", async () => {
    const up = hourly("up");
    const down = hourly("down", { after: [{ pipeline: up, slots: "interval" }], wait: "3h" });
    const slot = lastHour();
    await existedSince(up, slot - 2 * HOUR);
    await existedSince(down, slot - 1);
    // The upstream's run of the slot fails: cancelled at once.
    const coordinator = await getAgentByName(env.PipelineCoordinator, up);
    await coordinator.startRun({ runId: `scheduled-${slot}`, trigger: "scheduled", scheduledFor: slot, settings: settingsFor(up) });
    await coordinator.cancelRun(`scheduled-${slot}`, "test");
    await deliverDueSlots(down);
    expect(await ledgerEntry(down, slot)).toMatchObject({ state: "waiting", waitingFor: [{ pipeline: up, slots: [{ scheduledFor: slot, status: "cancelled", runId: `scheduled-${slot}` }] }] });
    const retry = await coordinator.retryRun(`scheduled-${slot}`);
    expect(retry.outcome).toBe("started");
    const retried = await finished(() => coordinator.getRun((retry as { run: { pipelineId: string } }).run.pipelineId));
    expect(retried.status).toBe("succeeded");
    const run = await finished(async () => (await runsOf(down))[0] ?? null);
    expect(run).toMatchObject({ trigger: "upstream", status: "succeeded", lineage: { upstream: [{ pipeline: up, scheduledFor: slot, runId: retried.pipelineId }] } });
  });

  it("late with whenLate miss: alerts upstream_late once and is missed, saying what it waited for", async () => {
    const up = hourly("up");
    const down = hourly("down", { after: [{ pipeline: up, slots: "interval" }], wait: "1m", whenLate: "miss" });
    const slot = lastHour() - HOUR;
    await existedSince(up, slot - 2 * HOUR);
    await existedSince(down, slot - 1);
    await deliverDueSlots(down);
    const entry = await eventually(() => ledgerEntry(down, slot), (value) => value?.state === "skipped");
    expect(entry.reason).toBe(`missed: its upstream was not in 1m after the slot (${up}: 1 slot not succeeded)`);
    expect(entry.alerts).toEqual([expect.objectContaining({ event: "upstream_late", status: "not_sent" })]);
    expect((await runsOf(down)).filter((run) => run.scheduledFor === slot).map((run) => [run.pipelineId, run.status])).toEqual([[`scheduled-${slot}`, "skipped"]]);
    // The upstream succeeding afterwards changes nothing: the slot was settled.
    await runSlot(up, slot);
    await (await getAgentByName(env.PipelineScheduler, down)).checkWaiting();
    expect((await runsOf(down)).filter((run) => run.scheduledFor === slot).map((run) => run.status)).toEqual(["skipped"]);
  });

  it("late with whenLate run: alerts upstream_late and runs on what is there, saying what was missing", async () => {
    const up = hourly("up");
    const down = hourly("down", { after: [{ pipeline: up, slots: "interval" }], wait: "1m", whenLate: "run" });
    const slot = lastHour() - HOUR;
    await existedSince(up, slot - 2 * HOUR);
    await existedSince(down, slot - 1);
    await deliverDueSlots(down);
    const run = await finished(async () => (await runsOf(down)).find((candidate) => candidate.scheduledFor === slot) ?? null);
    expect(run).toMatchObject({ pipelineId: `scheduled-${slot}`, trigger: "scheduled", status: "succeeded", lineage: { upstream: [], missingUpstream: `${up}: 1 slot not succeeded` } });
    expect((await ledgerEntry(down, slot)).alerts).toEqual([expect.objectContaining({ event: "upstream_late" })]);
  });

  it("does not wait for an upstream slot its schedule did not expect (before the upstream existed)", async () => {
    const up = hourly("up");
    const down = hourly("down", { after: [{ pipeline: up, slots: "interval" }], wait: "3h" });
    const slot = lastHour();
    await existedSince(up, slot + 1);
    await existedSince(down, slot - 1);
    await deliverDueSlots(down);
    const run = await finished(async () => (await runsOf(down))[0] ?? null);
    expect(run).toMatchObject({ trigger: "scheduled", status: "succeeded", lineage: { upstream: [] } });
  });
});

describe("waiting slots, in order", () => {
  it("runs a slot whose upstream is in only after the waiting slot before it, each once", async () => {
    const up = hourly("up");
    const down = hourly("down", { after: [{ pipeline: up, slots: "interval" }], wait: "3h" });
    const second = lastHour();
    const first = second - HOUR;
    await existedSince(up, first - HOUR);
    await runSlot(up, second);
    await existedSince(down, first - 1);
    await deliverDueSlots(down);
    // The second slot's upstream is in, the first's is not: neither runs yet.
    expect(await runsOf(down)).toEqual([]);
    expect(await ledgerEntry(down, second)).toMatchObject({ state: "waiting", waitingFor: [] });
    expect((await ledgerEntry(down, first)).state).toBe("waiting");
    await runSlot(up, first);
    const runs = await eventually(() => runsOf(down), (list) => list.length === 2 && list.every((run) => run.status === "succeeded"));
    expect(runs.map((run) => run.scheduledFor).sort()).toEqual([first, second]);
    const [older, newer] = [...runs].sort((a, b) => a.scheduledFor - b.scheduledFor);
    expect(newer.startTime).toBeGreaterThanOrEqual(older.endTime);
  });

  it("keeps held slots through a pause, and runs them once resumed", async () => {
    const up = hourly("up");
    const down = hourly("down", { after: [{ pipeline: up, slots: "interval" }], wait: "3h" });
    const slot = lastHour();
    await existedSince(up, slot - 2 * HOUR);
    await existedSince(down, slot - 1);
    await deliverDueSlots(down);
    expect((await apiJson(`/api/pipelines/${down}/schedule/pause`, { method: "POST" })).status).toBe(200);
    await runSlot(up, slot);
    await (await getAgentByName(env.PipelineScheduler, down)).checkWaiting();
    expect(await runsOf(down)).toEqual([]);
    expect((await apiJson(`/api/pipelines/${down}`)).body.waiting).toHaveLength(1);
    expect((await apiJson(`/api/pipelines/${down}/schedule/resume`, { method: "POST" })).status).toBe(200);
    await (await getAgentByName(env.PipelineScheduler, down)).checkWaiting();
    const run = await finished(async () => (await runsOf(down))[0] ?? null);
    expect(run).toMatchObject({ pipelineId: `scheduled-${slot}`, trigger: "upstream", status: "succeeded" });
  });
});

describe("a backfill that cascades", () => {
  it("runs a slot that waited for the upstream's failed hour once, when the backfill of that hour cascades", async () => {
    const up = hourly("up");
    const down = hourly("down", { after: [{ pipeline: up, slots: "interval" }], wait: "3h" });
    const next = hourly("next", { after: [{ pipeline: down, slots: "interval" }], wait: "3h" });
    const slot = lastHour();
    for (const name of [up, down, next]) await existedSince(name, slot - 2 * HOUR);
    const coordinator = await getAgentByName(env.PipelineCoordinator, up);
    await coordinator.startRun({ runId: `scheduled-${slot}`, trigger: "scheduled", scheduledFor: slot, settings: settingsFor(up) });
    await coordinator.cancelRun(`scheduled-${slot}`, "test");
    await existedSince(down, slot - 1);
    await deliverDueSlots(down);
    expect((await ledgerEntry(down, slot)).state).toBe("waiting");
    const started = await apiJson(`/api/pipelines/${up}/backfill`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ from: new Date(slot).toISOString(), to: new Date(slot + 1).toISOString(), reprocess: "failed", cascade: true }) });
    expect(started.status).toBe(202);
    const root = started.body.backfillId as string;
    const downBackfill = await eventually(
      () => apiJson(`/api/pipelines/${down}/backfills/${root}.${down}`),
      (response) => response.status === 200 && response.body.endedAt !== null,
      15_000,
    );
    expect(downBackfill.body.slots).toEqual([expect.objectContaining({ scheduledFor: slot, status: "succeeded" })]);
    // The slot ran once: released by its upstream's success, or by the cascade, not both.
    const downRuns = await eventually(() => runsOf(down), (runs) => runs.length > 0 && runs.every((run) => run.status !== "running"));
    expect(downRuns.filter((run) => run.status === "succeeded")).toHaveLength(1);
    expect(await ledgerEntry(down, slot)).toMatchObject({ state: "ran", status: "succeeded" });
    // And the cascade went on to the next pipeline.
    const nextBackfill = await eventually(() => apiJson(`/api/pipelines/${next}/backfills/${root}.${next}`), (response) => response.status === 200 && response.body.endedAt !== null, 15_000);
    expect(nextBackfill.body.slots).toEqual([expect.objectContaining({ scheduledFor: slot, status: "succeeded" })]);
  });

  it("reaches each downstream slot once, after all of its upstreams (a diamond), recording what it consumed", async () => {
    const up = hourly("up");
    const left = hourly("left", { after: [{ pipeline: up, slots: "interval" }] });
    const right = hourly("right", { after: [{ pipeline: up, slots: "interval" }] });
    const bottom = hourly("bottom", { after: [{ pipeline: left, slots: "interval" }, { pipeline: right, slots: "interval" }] });
    const to = lastHour();
    const from = to - 3 * HOUR;
    for (const name of [up, left, right, bottom]) await existedSince(name, from - HOUR);
    const started = await apiJson(`/api/pipelines/${up}/backfill`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), cascade: true }) });
    expect(started.status).toBe(202);
    expect(started.body.cascade).toEqual({ root: started.body.backfillId, closure: [up, expect.any(String), expect.any(String), bottom], notifiedAt: null });
    const root = started.body.backfillId as string;
    const slots = [from, from + HOUR, from + 2 * HOUR];

    const done = async (name: string) =>
      eventually(
        () => apiJson(`/api/pipelines/${name}/backfills/${root}.${name}`),
        (response) => response.status === 200 && response.body.endedAt !== null,
        15_000,
      ).then((response) => response.body);
    const bottomBackfill = await done(bottom);
    expect(bottomBackfill).toMatchObject({ status: "succeeded", cascade: { root } });
    expect(bottomBackfill.slots.map((slot: any) => [slot.scheduledFor, slot.status])).toEqual(slots.map((slot) => [slot, "succeeded"]));
    for (const name of [left, right]) expect((await done(name)).slots.map((slot: any) => slot.status)).toEqual(["succeeded", "succeeded", "succeeded"]);

    const bottomRuns = await runsOf(bottom);
    expect(bottomRuns).toHaveLength(3);
    const leftRuns = await runsOf(left);
    const rightRuns = await runsOf(right);
    for (const run of bottomRuns) {
      expect(run).toMatchObject({ trigger: "backfill", backfillId: `${root}.${bottom}`, status: "succeeded", lineage: { cascadeOf: root } });
      const consumed = run.lineage.upstream.map((entry: any) => `${entry.pipeline}/${entry.runId}`).sort();
      const fed = [left, right].map((name, index) => `${name}/${[leftRuns, rightRuns][index]!.find((candidate: any) => candidate.scheduledFor === run.scheduledFor).pipelineId}`).sort();
      expect(consumed).toEqual(fed);
      // Both upstream runs of the slot had ended before it started.
      for (const upstream of [...leftRuns, ...rightRuns].filter((candidate: any) => candidate.scheduledFor === run.scheduledFor)) expect(upstream.endTime).toBeLessThanOrEqual(run.startTime);
    }
    // Told again (a notice delivered twice): nothing more runs anywhere.
    await (await getAgentByName(env.PipelineScheduler, bottom)).cascadeReported({ root, closure: started.body.cascade.closure, upstream: left, backfillId: `${root}.${left}`, slots });
    expect(await runsOf(bottom)).toHaveLength(3);
  });
});
