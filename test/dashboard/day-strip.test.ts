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
});
