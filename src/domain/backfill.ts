import type { RunParams, RunStatus } from "./run";
import type { SlotRecord } from "./slot-ledger";
import type { ConsumedRun } from "./upstream-gate";

/**
 * A backfill: the pipeline's own slots in a range of past time, run one at a time, oldest first, as runs
 * with trigger "backfill". Which slots run depends on `reprocess`:
 * - `none` (default): every slot without a succeeded run (never ran, skipped, missed, failed, cancelled);
 * - `failed`: only slots whose newest run failed or was cancelled;
 * - `all`: every slot, even those that already succeeded.
 */
export const REPROCESS_POLICIES = ["none", "failed", "all"] as const;
export type ReprocessPolicy = (typeof REPROCESS_POLICIES)[number];

/** A backfill covers at most this many slots; a longer range is split by the caller. */
export const MAX_BACKFILL_SLOTS = 1_000;

export const BACKFILL_STATUSES = ["running", "succeeded", "failed", "cancelled"] as const;
export type BackfillStatus = (typeof BACKFILL_STATUSES)[number];

export const BACKFILL_SLOT_STATUSES = ["pending", "running", "succeeded", "failed", "cancelled", "skipped"] as const;
export type BackfillSlotStatus = (typeof BACKFILL_SLOT_STATUSES)[number];

export interface BackfillSlot {
  scheduledFor: number;
  status: BackfillSlotStatus;
  /** The backfill's run of this slot, once started. */
  runId: string | null;
  /** Why the slot is skipped (already succeeded, …) or why its run failed. */
  reason: string | null;
  /** In a cascade: the upstream runs the slot's run consumes (its lineage). */
  consumed?: ConsumedRun[];
}

/**
 * A backfill that cascades: started by the backfill `root` of an upstream pipeline, or the root itself
 * (`cascade: true`). When it ends, the pipelines downstream of it in `closure` are told which of their
 * upstream's slots it ran; each of them backfills the slots that consumed those, once all of its upstreams
 * in the closure have ended theirs: each downstream slot once, in dependency order.
 */
export interface CascadeOrigin {
  /** The backfill the cascade started from (an upstream's, or this one). */
  root: string;
  /** The pipelines the cascade reaches, in dependency order, the root's pipeline first. */
  closure: string[];
  /** Set once every downstream in the closure was told this backfill ended. */
  notifiedAt: number | null;
}

export interface Backfill {
  backfillId: string;
  pipeline: string;
  from: number;
  to: number;
  reprocess: ReprocessPolicy;
  params: RunParams;
  /** The time zone of the schedule the slots come from (`{{slot.date}}` is read in it). */
  timezone: string;
  status: BackfillStatus;
  createdAt: number;
  endedAt: number | null;
  slots: BackfillSlot[];
  /** Set when the backfill is part of a cascade (absent on backfills from before cascades existed). */
  cascade?: CascadeOrigin | null;
  /** The alert sent when the backfill ended with failed slots (null: none was due, or no webhook is set). */
  alert: { status: "pending" | "delivered" | "failed"; attempts: number; error?: string; at: number } | null;
}

/**
 * Which of the range's slots a backfill runs, and why it leaves the others. A cascade says why it leaves
 * some out (`excluded`: their upstream did not succeed) and what each of the others consumes.
 */
export function selectSlots(
  slots: readonly number[],
  records: ReadonlyMap<number, SlotRecord>,
  reprocess: ReprocessPolicy,
  cascade: { excluded?: ReadonlyMap<number, string>; consumed?: ReadonlyMap<number, ConsumedRun[]>; upToDate?: ReadonlyMap<number, string> } = {},
): BackfillSlot[] {
  return slots.map((slot) => {
    // A slot whose newest success already consumed the cascade's upstream runs is done: it is handed on as it is.
    const current = cascade.upToDate?.get(slot);
    if (current !== undefined) return { scheduledFor: slot, status: "succeeded", runId: current, reason: `run ${current} already consumed these upstream runs`, consumed: cascade.consumed?.get(slot) ?? [] };
    const reason = cascade.excluded?.get(slot) ?? skipReason(records.get(slot) ?? null, reprocess);
    const consumed = cascade.consumed?.get(slot);
    return { scheduledFor: slot, status: reason === null ? "pending" : "skipped", runId: null, reason, ...(consumed ? { consumed } : {}) };
  });
}

/** A cascading backfill that ended and has not yet told its downstream pipelines. */
export function owesCascadeNotice(backfill: Backfill): boolean {
  return backfill.cascade != null && backfill.cascade.notifiedAt === null && backfill.endedAt !== null && backfill.status !== "running";
}

/** The slots a backfill ran to success: what a cascade hands on. */
export function succeededSlots(backfill: Backfill): number[] {
  return backfill.slots.filter((slot) => slot.status === "succeeded").map((slot) => slot.scheduledFor);
}

function skipReason(record: SlotRecord | null, reprocess: ReprocessPolicy): string | null {
  const executed = record?.executed ?? null;
  if (executed?.status === "running") return `run ${executed.runId} of this slot is still running`;
  switch (reprocess) {
    case "all":
      return null;
    case "none": {
      // A success of any run counts here, a backfill's included: the data is in.
      const succeeded = record?.succeeded?.runId ?? (record?.backfill?.status === "succeeded" ? record.backfill.runId : null);
      return succeeded ? `already succeeded (run ${succeeded}); reprocess "all" runs it again` : null;
    }
    case "failed":
      if (executed?.status === "failed" || executed?.status === "cancelled") return null;
      if (executed) return `its newest run ${executed.runId} ${executed.status}; reprocess "failed" only reruns failed slots`;
      return `never ran; reprocess "failed" only reruns failed slots (reprocess "none" runs it)`;
  }
}

/** The next slot to run, oldest first, or null when none is left (or the backfill was cancelled). */
export function nextPendingSlot(backfill: Backfill): number | null {
  if (backfill.status !== "running") return null;
  return backfill.slots.find((slot) => slot.status === "pending")?.scheduledFor ?? null;
}

export function slotStarted(backfill: Backfill, slot: number, runId: string): Backfill {
  return updateSlot(backfill, slot, { status: "running", runId, reason: null });
}

/** A slot found covered when its turn came (another run did it meanwhile): skipped, saying by what. */
export function slotCovered(backfill: Backfill, slot: number, reason: string): Backfill {
  return updateSlot(backfill, slot, { status: "skipped", runId: null, reason });
}

/** A slot marked running whose run was never saved (a crash in between): it is started again. */
export function slotRestarted(backfill: Backfill, slot: number): Backfill {
  return updateSlot(backfill, slot, { status: backfill.status === "running" ? "pending" : "cancelled", runId: null, reason: backfill.status === "running" ? null : "the backfill was cancelled" });
}

/**
 * Why a slot need not run when its turn comes, or null: it is running, it ran since the backfill started
 * (a scheduled run that waited in the queue, or a backlog slot), or its record no longer calls for it.
 */
export function coveredReason(backfill: Backfill, record: SlotRecord | null): string | null {
  const executed = record?.executed ?? null;
  if (executed?.status === "running") return `run ${executed.runId} of this slot is running`;
  if (executed && executed.startedAt >= backfill.createdAt) return `ran since the backfill started (run ${executed.runId}, ${executed.status})`;
  return skipReason(record, backfill.reprocess);
}

/** A slot's run ended: its status is the run's; the backfill ends with its last slot. */
export function slotEnded(backfill: Backfill, slot: number, run: { status: RunStatus; error: string | null }, now: number): Backfill {
  const status: BackfillSlotStatus = run.status === "succeeded" || run.status === "failed" || run.status === "cancelled" ? run.status : "failed";
  const reason = status === "succeeded" ? null : (run.error ?? `the run ended ${run.status}`);
  return settle(updateSlot(backfill, slot, { status, reason }), now);
}

/** Stops after the current run: the slots not started are cancelled. */
export function cancelBackfill(backfill: Backfill, now: number): Backfill {
  if (backfill.status !== "running") return backfill;
  const slots = backfill.slots.map((slot): BackfillSlot => (slot.status === "pending" ? { ...slot, status: "cancelled", reason: "the backfill was cancelled" } : slot));
  const running = slots.some((slot) => slot.status === "running");
  return { ...backfill, slots, status: "cancelled", endedAt: running ? null : now };
}

/** Whether the backfill just ended with failed slots and should say so, once. */
export function needsAlert(backfill: Backfill): boolean {
  return backfill.status === "failed" && backfill.endedAt !== null && backfill.alert === null;
}

/** The backfill once nothing is left to run: succeeded only if every slot it ran succeeded. */
export function settle(backfill: Backfill, now: number): Backfill {
  if (backfill.slots.some((slot) => slot.status === "pending" || slot.status === "running")) return backfill;
  if (backfill.endedAt !== null) return backfill;
  if (backfill.status === "cancelled") return { ...backfill, endedAt: now };
  const failed = backfill.slots.some((slot) => slot.status === "failed" || slot.status === "cancelled");
  return { ...backfill, status: failed ? "failed" : "succeeded", endedAt: now };
}

/** A backfill without its slots, with how many are in each status. */
export type BackfillSummary = Omit<Backfill, "slots"> & { counts: Record<BackfillSlotStatus, number> };

export function summarizeBackfill(backfill: Backfill): BackfillSummary {
  const { slots: _slots, ...rest } = backfill;
  return { ...rest, counts: countSlots(backfill) };
}

/** How many slots are in each status. */
export function countSlots(backfill: Backfill): Record<BackfillSlotStatus, number> {
  const counts = Object.fromEntries(BACKFILL_SLOT_STATUSES.map((status) => [status, 0])) as Record<BackfillSlotStatus, number>;
  for (const slot of backfill.slots) counts[slot.status] += 1;
  return counts;
}

function updateSlot(backfill: Backfill, slot: number, change: Partial<BackfillSlot>): Backfill {
  return { ...backfill, slots: backfill.slots.map((entry) => (entry.scheduledFor === slot ? { ...entry, ...change } : entry)) };
}
