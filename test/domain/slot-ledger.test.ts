/**
 * The slot ledger: a slot's record across its runs, its fate (ran, skipped, missed, pending), the
 * schedule periods that say which slots were expected, and the deadline judgement behind lateness alerts.
 */
import { describe, expect, it } from "vitest";
import { alarmProblem } from "../../src/domain/alarm-health";
import { cancelRun, skipRun, stageFailed, stageStarted, startRun, type Run } from "../../src/domain/run";
import { DEFAULT_SCHEDULE, type ScheduleSpec } from "../../src/domain/schedule";
import { expectedSlots, sameSpec, specAt } from "../../src/domain/schedule-periods";
import { judgeDeadline, ledgerEntries, recordRun, slotFate, type SlotRecord } from "../../src/domain/slot-ledger";

const HOUR = 3_600_000;
const SLOT = 100 * HOUR;
const base = { pipeline: "p", scheduledFor: SLOT, destination: "d1://db/t" };
const hourly: ScheduleSpec = { ...DEFAULT_SCHEDULE, cron: null, intervalMs: HOUR };

const scheduled = (now: number): Run => startRun({ ...base, runId: `scheduled-${SLOT}`, trigger: "scheduled", now });
const ended = (run: Run, status: "succeeded" | "failed", at: number): Run =>
  status === "succeeded" ? { ...run, status, endTime: at } : stageFailed(stageStarted(run, "extract", at - 1), "extract", "HTTP 500", at);

describe("a slot's record", () => {
  it("follows its runs: the newest executed run, when the first started, when the first success ended", () => {
    let record = recordRun(null, scheduled(SLOT + 10) as Run & { scheduledFor: number });
    expect(record).toEqual({ slot: SLOT, executed: { runId: `scheduled-${SLOT}`, status: "running", startedAt: SLOT + 10, error: null }, firstStartedAt: SLOT + 10, succeeded: null, skipped: null, backfill: null });
    record = recordRun(record, ended(scheduled(SLOT + 10), "failed", SLOT + 50) as Run & { scheduledFor: number });
    expect(record.executed).toMatchObject({ status: "failed", error: "extract stage failed: HTTP 500" });
    const retry = { ...startRun({ ...base, runId: "retry-1", trigger: "retry", now: SLOT + 5 * HOUR }) };
    record = recordRun(record, ended(retry, "succeeded", SLOT + 5 * HOUR + 30) as Run & { scheduledFor: number });
    expect(record).toMatchObject({ executed: { runId: "retry-1", status: "succeeded" }, firstStartedAt: SLOT + 10, succeeded: { runId: "retry-1", at: SLOT + 5 * HOUR + 30 } });
    // A late save of the older run (its cancel cleanup) does not hide the newer one.
    record = recordRun(record, cancelRun(scheduled(SLOT + 10), "late", SLOT + 6 * HOUR) as Run & { scheduledFor: number });
    expect(record.executed?.runId).toBe("retry-1");
  });

  it("keeps a backfill apart: the slot keeps the judgement of its own runs, and shows the backfill beside it", () => {
    const backfill = (now: number) => ({ ...startRun({ ...base, runId: `backfill-${SLOT}-bf-1`, trigger: "backfill", backfillId: "bf-1", now }) });
    // Never run at its time, then backfilled three days later: not "started late by three days".
    let record = recordRun(null, ended(backfill(SLOT + 72 * HOUR), "succeeded", SLOT + 72 * HOUR + 5) as Run & { scheduledFor: number });
    expect(record).toMatchObject({ firstStartedAt: null, succeeded: null, executed: { runId: `backfill-${SLOT}-bf-1`, status: "succeeded" }, backfill: { runId: `backfill-${SLOT}-bf-1`, backfillId: "bf-1", status: "succeeded" } });
    const context = { now: SLOT + 80 * HOUR, missedAfterMs: 10 * 60_000, deadlineMs: 2 * HOUR, expectation: "expected" as const };
    expect(slotFate(SLOT, record, context)).toMatchObject({ state: "ran", status: "succeeded", startedLateByMs: null, deadlineMet: false, backfill: { status: "succeeded" } });
    expect(judgeDeadline(SLOT, record, 2 * HOUR, "expected")).toBe("slot_missed");
    // Its own run failed on time; the backfill's success is shown beside the judgement it earned.
    record = recordRun(null, ended(scheduled(SLOT + 10), "failed", SLOT + 50) as Run & { scheduledFor: number });
    record = recordRun(record, ended(backfill(SLOT + 72 * HOUR), "succeeded", SLOT + 72 * HOUR + 5) as Run & { scheduledFor: number });
    expect(slotFate(SLOT, record, context)).toMatchObject({ state: "ran", status: "succeeded", startedLateByMs: 10, deadlineMet: false, backfill: { status: "succeeded" } });
    expect(judgeDeadline(SLOT, record, 2 * HOUR, "expected")).toBe("run_late");
  });

  it("keeps a skip apart from what executed", () => {
    const skipped = skipRun({ ...base, runId: `scheduled-${SLOT}`, trigger: "scheduled", now: SLOT + 20 * 60_000, reason: "missed: the service did not run at the slot time" });
    expect(recordRun(null, skipped as Run & { scheduledFor: number })).toMatchObject({ executed: null, skipped: { runId: `scheduled-${SLOT}`, reason: "missed: the service did not run at the slot time" } });
  });
});

describe("a slot's fate", () => {
  const context = { now: SLOT + 3 * HOUR, missedAfterMs: 10 * 60_000, deadlineMs: 2 * HOUR, expectation: "expected" as const };
  const ran = (status: "succeeded" | "failed", at: number): SlotRecord => ({
    slot: SLOT,
    executed: { runId: "r", status, startedAt: SLOT + 90_000, error: status === "failed" ? "boom" : null },
    firstStartedAt: SLOT + 90_000,
    succeeded: status === "succeeded" ? { runId: "r", at } : null,
    skipped: null,
  });

  it("ran: with its run, how late it started, and whether it met the deadline", () => {
    expect(slotFate(SLOT, ran("succeeded", SLOT + HOUR), context)).toEqual({ scheduledFor: SLOT, state: "ran", runId: "r", status: "succeeded", reason: null, startedLateByMs: 90_000, deadlineAt: SLOT + 2 * HOUR, deadlineMet: true, backfill: null, waitingFor: null });
    expect(slotFate(SLOT, ran("failed", 0), context)).toMatchObject({ state: "ran", status: "failed", reason: "boom", deadlineMet: false });
    expect(slotFate(SLOT, ran("succeeded", SLOT + 2.5 * HOUR), context).deadlineMet).toBe(false);
  });

  it("missed once a due slot is more than missedAfterMs old with no run; pending before that and in the future", () => {
    expect(slotFate(SLOT, null, context)).toMatchObject({ state: "missed", runId: null, reason: "no run was started for this slot", deadlineMet: false });
    expect(slotFate(SLOT, null, { ...context, now: SLOT + 5 * 60_000 })).toMatchObject({ state: "pending", deadlineMet: null });
    expect(slotFate(SLOT, null, { ...context, now: SLOT - HOUR })).toMatchObject({ state: "pending", reason: null });
  });

  it("skipped: by the missed-run policy (with its reason), or because the schedule was paused", () => {
    expect(slotFate(SLOT, { slot: SLOT, executed: null, firstStartedAt: null, succeeded: null, skipped: { runId: "s", reason: "missed" } }, context)).toMatchObject({ state: "skipped", runId: "s", status: "skipped", reason: "missed" });
    expect(slotFate(SLOT, null, { ...context, expectation: "paused" })).toMatchObject({ state: "skipped", reason: "the schedule was paused", deadlineMet: null });
  });

  it("without a deadline, nothing is said about it", () => {
    expect(slotFate(SLOT, null, { ...context, deadlineMs: null })).toMatchObject({ deadlineAt: null, deadlineMet: null });
  });
});

describe("deadline judgement", () => {
  const success = (at: number): SlotRecord => ({ slot: SLOT, executed: { runId: "r", status: "succeeded", startedAt: SLOT, error: null }, firstStartedAt: SLOT, succeeded: { runId: "r", at }, skipped: null });
  it("nothing for a success in time; run_late for a run that did not succeed in time; slot_missed when nothing executed", () => {
    expect(judgeDeadline(SLOT, success(SLOT + HOUR), 2 * HOUR, "expected")).toBeNull();
    expect(judgeDeadline(SLOT, success(SLOT + 3 * HOUR), 2 * HOUR, "expected")).toBe("run_late");
    expect(judgeDeadline(SLOT, { ...success(0), succeeded: null, executed: { runId: "r", status: "running", startedAt: SLOT, error: null } }, 2 * HOUR, "expected")).toBe("run_late");
    expect(judgeDeadline(SLOT, null, 2 * HOUR, "expected")).toBe("slot_missed");
    expect(judgeDeadline(SLOT, { slot: SLOT, executed: null, firstStartedAt: null, succeeded: null, skipped: { runId: "s", reason: "missed" } }, 2 * HOUR, "expected")).toBe("slot_missed");
    expect(judgeDeadline(SLOT, null, 2 * HOUR, "paused")).toBeNull();
  });
});

describe("schedule periods", () => {
  const paused = { ...hourly, enabled: false };
  const daily = { ...DEFAULT_SCHEDULE };
  const periods = [
    { from: 10 * HOUR, spec: hourly },
    { from: 13 * HOUR + 30 * 60_000, spec: paused },
    { from: 15 * HOUR, spec: hourly },
  ];

  it("list the slots each schedule expected in its time, paused ones marked, nothing before the first", () => {
    const { slots, more } = expectedSlots(periods, 8 * HOUR, 17 * HOUR, 100);
    expect(more).toBe(false);
    expect(slots).toEqual([
      { slot: 10 * HOUR, expectation: "expected" },
      { slot: 11 * HOUR, expectation: "expected" },
      { slot: 12 * HOUR, expectation: "expected" },
      { slot: 13 * HOUR, expectation: "expected" },
      { slot: 14 * HOUR, expectation: "paused" },
      { slot: 15 * HOUR, expectation: "expected" },
      { slot: 16 * HOUR, expectation: "expected" },
    ]);
    expect(expectedSlots(periods, 8 * HOUR, 17 * HOUR, 3)).toEqual({ slots: slots.slice(0, 3), more: true });
  });

  it("find the spec in force at a time, and tell a change from the same schedule", () => {
    expect(specAt(periods, 9 * HOUR)).toBeNull();
    expect(specAt(periods, 14 * HOUR)).toBe(paused);
    expect(sameSpec(hourly, { ...hourly })).toBe(true);
    expect(sameSpec(hourly, { ...hourly, deadlineMs: HOUR })).toBe(false);
    expect(sameSpec(daily, { ...daily, timezone: "Europe/Berlin" })).toBe(false);
  });

  it("the ledger adds slots that ran though not expected (backfilled before the schedule existed), and marks queued slots pending", () => {
    const backfilled: SlotRecord = { slot: 5 * HOUR, executed: { runId: "b", status: "succeeded", startedAt: 20 * HOUR, error: null }, firstStartedAt: 20 * HOUR, succeeded: { runId: "b", at: 20 * HOUR + 5 }, skipped: null };
    const entries = ledgerEntries({
      expected: expectedSlots(periods, 0, 12 * HOUR, 100).slots,
      records: [backfilled],
      queued: [11 * HOUR],
      now: 11 * HOUR + 30 * 60_000,
      missedAfterMs: 10 * 60_000,
      deadlineMs: () => null,
    });
    expect(entries.map((entry) => [entry.scheduledFor / HOUR, entry.state, entry.reason])).toEqual([
      [5, "ran", null],
      [10, "missed", "no run was started for this slot"],
      [11, "pending", "waiting for the backfill's current run to end"],
    ]);
    expect(entries[0]!.startedLateByMs).toBe(15 * HOUR);
  });
});

describe("the hourly alarm check", () => {
  const state = { wanted: 20 * HOUR, armed: [{ id: "a", slot: 20 * HOUR }], alarmAt: 20 * HOUR, lastArmed: 20 * HOUR, now: 19 * HOUR };
  it("is content when the next slot's schedule row and the Durable Object alarm are there", () => {
    expect(alarmProblem(state)).toBeNull();
    expect(alarmProblem({ ...state, alarmAt: 19.5 * HOUR })).toBeNull(); // an earlier alarm (a backlog, a deadline) is fine
    expect(alarmProblem({ ...state, wanted: null, armed: [] })).toBeNull(); // paused
  });

  it("names what is wrong: the row disappeared, the alarm is not set, or set after the slot", () => {
    expect(alarmProblem({ ...state, armed: [] })).toBe("the alarm for the next slot (1970-01-01T20:00:00.000Z) had disappeared");
    expect(alarmProblem({ ...state, armed: [], lastArmed: 19 * HOUR })).toBeNull(); // never armed yet: arming it is normal
    expect(alarmProblem({ ...state, alarmAt: null })).toBe("the Durable Object alarm was not set (next slot 1970-01-01T20:00:00.000Z)");
    expect(alarmProblem({ ...state, alarmAt: 21 * HOUR })).toBe("the Durable Object alarm was set for 1970-01-01T21:00:00.000Z, after the next slot (1970-01-01T20:00:00.000Z)");
  });
});

describe("a due slot with a deadline shorter than missedAfterMs", () => {
  it("is missed once its deadline passes, as its alert says", () => {
    const context = { now: SLOT + 3 * 60_000, missedAfterMs: 10 * 60_000, deadlineMs: 60_000, expectation: "expected" as const };
    expect(slotFate(SLOT, null, context)).toMatchObject({ state: "missed", deadlineMet: false });
    expect(slotFate(SLOT, null, { ...context, now: SLOT + 30_000 })).toMatchObject({ state: "pending", deadlineMet: null });
  });
});
