/**
 * Backfill bookkeeping: which slots of a range run for each reprocess policy, and how slot results and a
 * cancel settle the backfill.
 */
import { describe, expect, it } from "vitest";
import { cancelBackfill, countSlots, nextPendingSlot, selectSlots, settle, slotEnded, slotStarted, type Backfill } from "../../src/domain/backfill";
import { admitRun } from "../../src/domain/admission";
import { emptySlotRecord, type SlotRecord } from "../../src/domain/slot-ledger";

const DAY = 86_400_000;
const slots = [1, 2, 3, 4, 5].map((day) => day * DAY);

/** The ledger of five slots: succeeded, failed, cancelled then succeeded, never ran (skipped), running. */
const records = new Map<number, SlotRecord>([
  [1 * DAY, { ...emptySlotRecord(1 * DAY), executed: { runId: "scheduled-1", status: "succeeded", startedAt: DAY + 5, error: null }, firstStartedAt: DAY + 5, succeeded: { runId: "scheduled-1", at: DAY + 9 } }],
  [2 * DAY, { ...emptySlotRecord(2 * DAY), executed: { runId: "scheduled-2", status: "failed", startedAt: 2 * DAY + 5, error: "HTTP 500" }, firstStartedAt: 2 * DAY + 5 }],
  [3 * DAY, { ...emptySlotRecord(3 * DAY), executed: { runId: "retry-3", status: "succeeded", startedAt: 3 * DAY + 50, error: null }, firstStartedAt: 3 * DAY + 5, succeeded: { runId: "retry-3", at: 3 * DAY + 60 } }],
  [4 * DAY, { ...emptySlotRecord(4 * DAY), skipped: { runId: "scheduled-4", reason: "missed" } }],
  [5 * DAY, { ...emptySlotRecord(5 * DAY), executed: { runId: "scheduled-5", status: "running", startedAt: 5 * DAY + 5, error: null }, firstStartedAt: 5 * DAY + 5 }],
]);

const statuses = (policy: "none" | "failed" | "all") => selectSlots(slots, records, policy).map((slot) => slot.status);

describe("which slots a backfill runs", () => {
  it('"none" runs every slot without a succeeded run: the failed one and the one that never ran', () => {
    expect(statuses("none")).toEqual(["skipped", "pending", "skipped", "pending", "skipped"]);
    expect(selectSlots(slots, records, "none")[0]!.reason).toBe('already succeeded (run scheduled-1); reprocess "all" runs it again');
    expect(selectSlots(slots, records, "none")[4]!.reason).toBe("run scheduled-5 of this slot is still running");
  });

  it('"failed" runs only the slot whose newest run failed', () => {
    expect(statuses("failed")).toEqual(["skipped", "pending", "skipped", "skipped", "skipped"]);
    expect(selectSlots(slots, records, "failed")[3]!.reason).toBe('never ran; reprocess "failed" only reruns failed slots (reprocess "none" runs it)');
  });

  it('"all" runs every slot, even those that succeeded, but never one that is running', () => {
    expect(statuses("all")).toEqual(["pending", "pending", "pending", "pending", "skipped"]);
  });

  it("slots nobody ran are pending in every policy but failed", () => {
    const unseen = [10 * DAY, 11 * DAY];
    expect(selectSlots(unseen, new Map(), "none").map((slot) => slot.status)).toEqual(["pending", "pending"]);
    expect(selectSlots(unseen, new Map(), "all").map((slot) => slot.status)).toEqual(["pending", "pending"]);
  });
});

function backfillOf(policy: "none" | "all"): Backfill {
  return { backfillId: "bf-1", pipeline: "p", from: DAY, to: 6 * DAY, reprocess: policy, params: {}, timezone: "UTC", status: "running", createdAt: 0, endedAt: null, slots: selectSlots(slots, records, policy), alert: null };
}

describe("a backfill's progress", () => {
  it("runs its slots oldest first, and succeeds when every slot it ran succeeded", () => {
    let backfill = backfillOf("none");
    expect(nextPendingSlot(backfill)).toBe(2 * DAY);
    backfill = slotStarted(backfill, 2 * DAY, "backfill-2-bf-1");
    expect(nextPendingSlot(backfill)).toBe(4 * DAY);
    backfill = slotEnded(backfill, 2 * DAY, { status: "succeeded", error: null }, 100);
    expect(backfill.status).toBe("running");
    backfill = slotEnded(slotStarted(backfill, 4 * DAY, "backfill-4-bf-1"), 4 * DAY, { status: "succeeded", error: null }, 200);
    expect(backfill).toMatchObject({ status: "succeeded", endedAt: 200 });
    expect(nextPendingSlot(backfill)).toBeNull();
    expect(countSlots(backfill)).toEqual({ pending: 0, running: 0, succeeded: 2, failed: 0, cancelled: 0, skipped: 3 });
  });

  it("fails if one of its runs failed, and keeps going to the end first", () => {
    let backfill = slotEnded(slotStarted(backfillOf("none"), 2 * DAY, "r2"), 2 * DAY, { status: "failed", error: "HTTP 500" }, 100);
    expect(backfill.status).toBe("running");
    expect(backfill.slots[1]).toEqual({ scheduledFor: 2 * DAY, status: "failed", runId: "r2", reason: "HTTP 500" });
    backfill = slotEnded(slotStarted(backfill, 4 * DAY, "r4"), 4 * DAY, { status: "succeeded", error: null }, 200);
    expect(backfill).toMatchObject({ status: "failed", endedAt: 200 });
  });

  it("a cancel stops after the current run: the rest is cancelled, and it ends when that run does", () => {
    let backfill = slotStarted(backfillOf("all"), 1 * DAY, "r1");
    backfill = cancelBackfill(backfill, 50);
    expect(backfill.status).toBe("cancelled");
    expect(backfill.endedAt).toBeNull();
    expect(backfill.slots.map((slot) => slot.status)).toEqual(["running", "cancelled", "cancelled", "cancelled", "skipped"]);
    expect(nextPendingSlot(backfill)).toBeNull();
    backfill = slotEnded(backfill, 1 * DAY, { status: "succeeded", error: null }, 80);
    expect(backfill).toMatchObject({ status: "cancelled", endedAt: 80 });
  });

  it("a backfill with nothing to run is over at once", () => {
    const nothing = settle({ ...backfillOf("none"), slots: selectSlots([DAY], records, "none") }, 10);
    expect(nothing).toMatchObject({ status: "succeeded", endedAt: 10 });
  });
});

describe("admitting a run while the pipeline is busy", () => {
  const free = { exists: false, active: null, backfillActive: false };
  const slot = { trigger: "scheduled" as const, scheduledFor: 1_000 };
  it("starts on a free pipeline, and never twice under one id", () => {
    expect(admitRun(slot, free)).toBe("start");
    expect(admitRun({ trigger: "manual", scheduledFor: null }, free)).toBe("start");
    expect(admitRun(slot, { ...free, exists: true })).toBe("exists");
  });

  it("queues a scheduled slot behind a backfill run, or any run while a backfill is under way", () => {
    expect(admitRun(slot, { ...free, active: { trigger: "backfill" } })).toBe("queue");
    expect(admitRun(slot, { ...free, active: { trigger: "manual" }, backfillActive: true })).toBe("queue");
    expect(admitRun({ ...slot, ifIdle: true }, { ...free, active: { trigger: "backfill" } })).toBe("queue");
  });

  it("otherwise skips a scheduled slot (the seed's rule), and refuses everything else", () => {
    expect(admitRun(slot, { ...free, active: { trigger: "manual" } })).toBe("skip");
    expect(admitRun({ ...slot, ifIdle: true }, { ...free, active: { trigger: "manual" } })).toBe("refuse");
    for (const trigger of ["manual", "retry", "backfill"] as const) expect(admitRun({ trigger, scheduledFor: trigger === "backfill" ? 1_000 : null }, { ...free, active: { trigger: "scheduled" } })).toBe("refuse");
  });
});
