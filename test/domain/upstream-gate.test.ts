/** The time-and-data gate, and what a due slot does: start, wait, or (late) run anyway or be missed. */
import { describe, expect, it } from "vitest";
import { decideWaiting, describeWaiting, judgeGate, WAITING_RECHECK_MS, type UpstreamSlot } from "../../src/domain/upstream-gate";

const HOUR = 3_600_000;
const slot = (scheduledFor: number, status: UpstreamSlot["status"], state = "ran", expected = true): UpstreamSlot => ({ scheduledFor, state, runId: status === null ? null : `r-${scheduledFor}`, status, expected });
const window = { from: 0, to: 24 * HOUR };

describe("the gate", () => {
  it("opens when every expected upstream slot of every window succeeded, and lists what it consumed", () => {
    const verdict = judgeGate([
      { pipeline: "orders", window, slots: [slot(HOUR, "succeeded"), slot(2 * HOUR, "succeeded")] },
      { pipeline: "refunds", window, slots: [slot(3 * HOUR, "succeeded")] },
    ]);
    expect(verdict).toEqual({
      open: true,
      consumed: [
        { pipeline: "orders", scheduledFor: HOUR, runId: `r-${HOUR}` },
        { pipeline: "orders", scheduledFor: 2 * HOUR, runId: `r-${2 * HOUR}` },
        { pipeline: "refunds", scheduledFor: 3 * HOUR, runId: `r-${3 * HOUR}` },
      ],
    });
  });

  it("stays closed while a slot failed, is running, was missed or never ran; a paused slot is not waited for", () => {
    const verdict = judgeGate([
      { pipeline: "orders", window, slots: [slot(HOUR, "succeeded"), slot(2 * HOUR, "failed"), slot(3 * HOUR, "running"), slot(4 * HOUR, null, "missed"), slot(5 * HOUR, null, "skipped", false)] },
    ]);
    expect(verdict.open).toBe(false);
    if (verdict.open) return;
    expect(verdict.waitingFor).toEqual([
      {
        pipeline: "orders",
        from: 0,
        to: 24 * HOUR,
        count: 3,
        problem: null,
        slots: [
          { scheduledFor: 2 * HOUR, state: "ran", runId: `r-${2 * HOUR}`, status: "failed" },
          { scheduledFor: 3 * HOUR, state: "ran", runId: `r-${3 * HOUR}`, status: "running" },
          { scheduledFor: 4 * HOUR, state: "missed", runId: null, status: null },
        ],
      },
    ]);
    expect(describeWaiting(verdict.waitingFor)).toBe("orders: 3 slots not succeeded (1 of the first 3 failed)");
  });

  it("stays closed on an upstream it cannot read, saying why", () => {
    const verdict = judgeGate([{ pipeline: "gone", window, slots: { problem: "it is not defined in this deployment" } }]);
    expect(verdict.open).toBe(false);
    if (!verdict.open) expect(describeWaiting(verdict.waitingFor)).toBe("gone: it is not defined in this deployment");
  });

  it("opens on a window where the upstream expected nothing", () => {
    expect(judgeGate([{ pipeline: "weekly", window, slots: [] }])).toEqual({ open: true, consumed: [] });
  });
});

describe("a waiting slot", () => {
  const closed = judgeGate([{ pipeline: "orders", window, slots: [slot(HOUR, "failed")] }]);
  const open = judgeGate([{ pipeline: "orders", window, slots: [slot(HOUR, "succeeded")] }]);
  const SLOT = 26 * HOUR;

  it("starts once the gate is open", () => {
    expect(decideWaiting(SLOT, open, { waitMs: 2 * HOUR, whenLate: "miss" }, SLOT + HOUR)).toMatchObject({ action: "start", late: null });
  });

  it("waits, looking again within a minute and at the moment it becomes late", () => {
    expect(decideWaiting(SLOT, closed, { waitMs: 2 * HOUR, whenLate: "miss" }, SLOT)).toMatchObject({ action: "wait", until: SLOT + WAITING_RECHECK_MS });
    expect(decideWaiting(SLOT, closed, { waitMs: 2 * HOUR, whenLate: "miss" }, SLOT + 2 * HOUR - 10_000)).toMatchObject({ action: "wait", until: SLOT + 2 * HOUR });
  });

  it("late: runs anyway on what is there (whenLate run), saying what was missing, or is missed (whenLate miss)", () => {
    const late = decideWaiting(SLOT, closed, { waitMs: 2 * HOUR, whenLate: "run" }, SLOT + 2 * HOUR);
    expect(late).toMatchObject({ action: "start", consumed: [], late: { waitingFor: [{ pipeline: "orders", count: 1 }] } });
    const missed = decideWaiting(SLOT, closed, { waitMs: 2 * HOUR, whenLate: "miss" }, SLOT + 2 * HOUR);
    expect(missed).toMatchObject({ action: "miss", reason: "missed: its upstream was not in 2h after the slot (orders: 1 slot not succeeded (1 of the first 1 failed))" });
  });
});
