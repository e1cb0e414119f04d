/** The dashboard's strip of days: the pipeline's calendar, each slot read once, runs outside the schedule marked. */
import { describe, expect, it } from "vitest";
import type { SlotEntry } from "../../src/dashboard/api-types";
import { dayStrip, slotClass } from "../../src/dashboard/day-strip";

function slot(at: string, fields: Partial<SlotEntry> = {}): SlotEntry {
  return {
    scheduledFor: Date.parse(at),
    scheduledForLocal: at,
    state: "ran",
    runId: `scheduled-${Date.parse(at)}`,
    status: "succeeded",
    reason: null,
    startedLateByMs: 0,
    deadlineAt: null,
    deadlineMet: null,
    waitingFor: null,
    backfill: null,
    alerts: [],
    ...fields,
  };
}

describe("slotClass", () => {
  it("reads a slot by its own runs, and one a backfill filled in as backfilled", () => {
    expect(slotClass(slot("2026-11-20T08:00:00Z"))).toBe("ok");
    expect(slotClass(slot("2026-11-20T08:00:00Z", { deadlineMet: false }))).toBe("late");
    expect(slotClass(slot("2026-11-20T08:00:00Z", { status: "failed" }))).toBe("failed");
    expect(slotClass(slot("2026-11-20T08:00:00Z", { status: "cancelled" }))).toBe("failed");
    expect(slotClass(slot("2026-11-20T08:00:00Z", { status: "running" }))).toBe("running");
    expect(slotClass(slot("2026-11-20T08:00:00Z", { state: "missed", runId: null, status: null }))).toBe("missed");
    expect(slotClass(slot("2026-11-20T08:00:00Z", { state: "pending", runId: null, status: null }))).toBe("pending");
    expect(slotClass(slot("2026-11-20T08:00:00Z", { state: "waiting", runId: null, status: null, waitingFor: [] }))).toBe("waiting");
    // Missed at its time and filled in later: the day shows the backfill, not a late success.
    const backfill = { runId: "backfill-x", backfillId: "bf-1", status: "succeeded" as const, startedAt: Date.parse("2026-11-25T00:00:00Z") };
    expect(slotClass(slot("2026-11-20T08:00:00Z", { runId: "backfill-x", deadlineMet: false, startedLateByMs: null, backfill }))).toBe("backfilled");
    expect(slotClass(slot("2026-11-20T08:00:00Z", { runId: "backfill-x", status: "failed", backfill: { ...backfill, status: "failed" } }))).toBe("failed");
    // A slot whose own run is newer than an earlier backfill reads by its own run.
    expect(slotClass(slot("2026-11-20T08:00:00Z", { runId: "scheduled-1", status: "succeeded", backfill: { ...backfill, status: "failed" } }))).toBe("ok");
  });
});

describe("dayStrip", () => {
  const now = Date.parse("2026-11-28T15:00:00Z");

  it("has one cell per day of the pipeline's calendar, today last", () => {
    const cells = dayStrip({ slots: [], outside: [], now, timezone: "America/New_York", days: 30 });
    expect(cells).toHaveLength(30);
    expect(cells.at(-1)!.date).toBe("2026-11-28");
    expect(cells[0]!.date).toBe("2026-10-30");
    expect(new Date(cells.at(-1)!.from).toISOString()).toBe("2026-11-28T05:00:00.000Z");
    // The day DST ended in New York has 25 hours.
    const fallBack = cells.find((cell) => cell.date === "2026-11-01")!;
    expect(fallBack.to - fallBack.from).toBe(25 * 3_600_000);
    expect(cells.every((cell) => cell.worst === "none" && cell.title.endsWith("no slot"))).toBe(true);
  });

  it("puts a slot on its local day: 23:30 in New York is not the next UTC day", () => {
    const cells = dayStrip({ slots: [slot("2026-11-27T04:30:00Z")], outside: [], now, timezone: "America/New_York", days: 3 });
    expect(cells.map((cell) => [cell.date, cell.worst])).toEqual([
      ["2026-11-26", "ok"],
      ["2026-11-27", "none"],
      ["2026-11-28", "none"],
    ]);
  });

  it("takes the worst slot of a day and counts each way they read", () => {
    const cells = dayStrip({
      slots: [slot("2026-11-28T01:00:00Z"), slot("2026-11-28T02:00:00Z", { status: "failed" }), slot("2026-11-28T03:00:00Z"), slot("2026-11-28T20:00:00Z", { state: "pending", runId: null, status: null })],
      outside: [],
      now,
      timezone: "UTC",
      days: 1,
    });
    expect(cells[0]!.worst).toBe("failed");
    expect(cells[0]!.slots).toEqual([
      { reads: "failed", count: 1 },
      { reads: "ok", count: 2 },
      { reads: "pending", count: 1 },
    ]);
    expect(cells[0]!.title).toBe("2026-11-28: 1 failed, 2 ok, 1 to come");
  });

  it("marks a day with runs outside the schedule, even one without a slot", () => {
    const cells = dayStrip({
      slots: [],
      outside: [
        { startTime: Date.parse("2026-11-27T10:00:00Z"), status: "succeeded" },
        { startTime: Date.parse("2026-11-27T11:00:00Z"), status: "failed" },
        { startTime: Date.parse("2026-11-27T12:00:00Z"), status: "skipped" },
      ],
      now,
      timezone: "UTC",
      days: 2,
    });
    expect(cells[0]!.outside).toEqual({ runs: 2, unsuccessful: 1 });
    expect(cells[0]!.title).toBe("2026-11-27: no slot; 2 runs outside the schedule (1 not successful)");
    expect(cells[1]!.outside).toBeNull();
  });

  it("reads a day with slots waiting for their upstream as waiting, its title saying what they wait for", () => {
    const owed = { pipeline: "orders", from: Date.parse("2026-11-27T00:00:00Z"), to: Date.parse("2026-11-28T00:00:00Z"), slots: [{ scheduledFor: Date.parse("2026-11-27T11:15:00Z"), state: "ran", runId: "backfill-1", status: "failed" as const }], count: 2, problem: null };
    const waiting = (at: string, waitingFor: SlotEntry["waitingFor"]) => slot(at, { state: "waiting", runId: null, status: null, startedLateByMs: null, reason: "waiting for its upstream", waitingFor });
    const cells = dayStrip({ slots: [slot("2026-11-28T01:00:00Z"), waiting("2026-11-28T02:30:00Z", [{ ...owed, count: 3 }]), waiting("2026-11-28T03:30:00Z", [owed])], outside: [], now, timezone: "UTC", days: 1 });
    expect(cells[0]!.worst).toBe("waiting");
    // The newest waiting slot says what is owed now.
    expect(cells[0]!.waitingFor).toBe("orders (2 slots not succeeded)");
    expect(cells[0]!.title).toBe("2026-11-28: 2 waiting for upstream, 1 ok; waiting for orders (2 slots not succeeded)");
    // Worse than waiting: a failed slot that day.
    expect(dayStrip({ slots: [waiting("2026-11-28T02:30:00Z", [owed]), slot("2026-11-28T03:00:00Z", { status: "failed" })], outside: [], now, timezone: "UTC", days: 1 })[0]!.worst).toBe("failed");
    // An upstream that cannot be read is named with why.
    expect(dayStrip({ slots: [waiting("2026-11-28T02:30:00Z", [{ ...owed, slots: [], count: 0, problem: "its definition is invalid" }])], outside: [], now, timezone: "UTC", days: 1 })[0]!.waitingFor).toBe("orders (its definition is invalid)");
    expect(cells[0]!.title).not.toContain("undefined");
  });
});
