/**
 * The slot ledger and lateness alerts (MSW plays the source and the alert receiver): a pipeline with a
 * deadline alerts `slot_missed` for slots that passed without a run and `run_late` for a slot whose run
 * did not succeed in time, once each; the ledger shows every slot's fate and its alerts; the hourly check
 * re-arms a lost alarm and says so in the stats.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { DEADLINE_CALLBACK, type PipelineScheduler } from "../../src/agents/pipeline-scheduler";
import { ALERT_HOOK, network } from "../support/network";
import { apiJson, eventually, finished, fireArmedSlot, uniqueName } from "../support/runtime";
import { settingsFor } from "../support/settings";
import { DAILY_SOURCE, dailyPipeline } from "../support/test-pipelines";

const MINUTE = 60_000;

describe("lateness", () => {
  it("alerts slot_missed and run_late once each, and the ledger shows every slot's fate", async () => {
    const name = dailyPipeline(uniqueName("late"), { schedule: { every: "10m", deadline: "1m" } });
    const base = `/api/pipelines/${name}`;
    const received: any[] = [];
    network.use(
      http.post(ALERT_HOOK, async ({ request }) => (received.push(await request.json()), new HttpResponse(null, { status: 204 }))),
      http.get(`${DAILY_SOURCE}/:file`, () => new HttpResponse("down", { status: 503 })),
    );
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    await scheduler.ensureArmed();
    // The schedule started an hour ago (as if deployed then), and nothing ran since.
    await runInDurableObject(scheduler, (_instance, state) => {
      state.storage.sql.exec("UPDATE schedule_periods SET start = start - ?", 60 * MINUTE);
    });
    const now = Date.now();
    const due = Array.from({ length: 7 }, (_, index) => (Math.floor((now - 60 * MINUTE) / (10 * MINUTE)) + index) * 10 * MINUTE).filter((slot) => slot >= now - 60 * MINUTE && slot + MINUTE < now);
    const late = due[2]!;
    const backfilled = due[4]!;
    // One slot did run, late and failing: its scheduled run, delivered late, against a source that answers 503.
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const lateRun = `scheduled-${late}`;
    await coordinator.startRun({ runId: lateRun, trigger: "scheduled", scheduledFor: late, settings: settingsFor(name) });
    await finished(() => coordinator.getRun(lateRun));
    // Another was backfilled: a backfill runs late on purpose, and is kept apart from the slot's judgement.
    const backfill = (await apiJson(`${base}/backfill`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ from: backfilled, to: backfilled + 1 }) })).body;
    await eventually(() => apiJson(backfill.statusUrl), (response) => response.body.status === "failed");

    // The failures alerted (the backfill once); lateness is judged by the hourly check.
    await eventually(async () => received.map((message) => message.event), (events) => events.includes("backfill_failed"));
    const lateness = () => received.filter((message) => message.event === "run_late" || message.event === "slot_missed");
    expect(lateness()).toEqual([]);
    await scheduler.ensureArmed(); // the hourly check
    await eventually(async () => lateness().length, (count) => count === 2);
    const missed = lateness().find((message) => message.event === "slot_missed");
    const runLate = lateness().find((message) => message.event === "run_late");
    expect(missed).toMatchObject({ pipeline: name, deadline: "1m", slots: due.filter((slot) => slot !== late).map((slot) => ({ scheduledFor: new Date(slot).toISOString(), runId: null, status: null })) });
    expect(missed.text).toMatch(new RegExp(`^:warning: Pipeline \\*${name}\\*: ${due.length - 1} slots passed without any run: `));
    expect(runLate).toMatchObject({ slots: [{ scheduledFor: new Date(late).toISOString(), runId: lateRun, status: "failed" }] });
    expect(runLate.ledgerUrl).toBe(`https://pipeline.example.test${base}/slots?from=${new Date(late).toISOString()}`);

    // Once each: the next check sends nothing more, nor does a repeated delivery of the same alarm.
    await scheduler.ensureArmed();
    await scheduler.deliverSlotAlert({ event: "slot_missed", deadlineMs: MINUTE, slots: missed.slots.map((slot: any) => ({ scheduledFor: Date.parse(slot.scheduledFor), runId: null, status: null })) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(lateness()).toHaveLength(2);

    const ledger = (await apiJson(`${base}/slots?from=${due[0]}&to=${due.at(-1)! + 1}`)).body;
    expect(ledger.slots.map((slot: any) => [slot.scheduledFor, slot.state, slot.status, slot.deadlineMet])).toEqual(
      due.map((slot) => (slot === late || slot === backfilled ? [slot, "ran", "failed", false] : [slot, "missed", null, false])),
    );
    const lateEntry = ledger.slots.find((slot: any) => slot.scheduledFor === late);
    expect(lateEntry).toMatchObject({ runId: lateRun, deadlineAt: late + MINUTE, reason: expect.stringContaining("503"), startedLateByMs: expect.any(Number), backfill: null });
    // The backfilled slot keeps the judgement of its own (none ran: missed), its backfill shown beside it.
    const backfilledEntry = ledger.slots.find((slot: any) => slot.scheduledFor === backfilled);
    expect(backfilledEntry).toMatchObject({ startedLateByMs: null, backfill: { runId: `backfill-${backfilled}-${backfill.backfillId}`, backfillId: backfill.backfillId, status: "failed" } });
    expect(backfilledEntry.alerts).toEqual([{ event: "slot_missed", status: "delivered", attempts: 1, at: expect.any(Number) }]);
    expect(lateEntry.startedLateByMs).toBeGreaterThan(MINUTE);
    expect(lateEntry.alerts).toEqual([{ event: "run_late", status: "delivered", attempts: 1, at: expect.any(Number) }]);
    expect(ledger.slots[0].alerts).toEqual([{ event: "slot_missed", status: "delivered", attempts: 1, at: expect.any(Number) }]);
    expect(ledger.slots[0].reason).toBe("no run was started for this slot");
  });

  it("arms a check at the deadline of every slot it delivers", async () => {
    const name = dailyPipeline(uniqueName("deadline"), { schedule: { every: "10m", deadline: "5m" } });
    network.use(http.get(`${DAILY_SOURCE}/:file`, () => HttpResponse.json([])));
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    const slot = (await scheduler.describeSchedule())[0]!.nextExecuteAt!;
    expect(await fireArmedSlot(name)).toBe(true);
    const checks = await runInDurableObject(scheduler, async (instance: PipelineScheduler) => (await instance.listSchedules()).filter((entry) => entry.callback === DEADLINE_CALLBACK));
    expect(checks.map((entry) => entry.time)).toEqual([Math.ceil((slot + 5 * MINUTE + 1_000) / 1000)]);
  });
});
