import type { RunStatus } from "./run";
import { formatInterval } from "./schedule";
import type { SlotWindow } from "./upstream-window";

/**
 * The time-and-data gate: a downstream slot whose time has come runs only once every upstream slot in
 * its windows has succeeded. What the upstream expected is its own slot ledger (the slots its schedule
 * wanted, by the schedule in force at each one's time; a paused slot is not expected), so a slot the
 * upstream missed or failed keeps the downstream waiting until a retry or a backfill makes it succeed.
 */

/** One upstream slot as the gate sees it: what the upstream's ledger says of it. */
export interface UpstreamSlot {
  scheduledFor: number;
  /** The ledger's state: ran, skipped, missed, pending, waiting. */
  state: string;
  /** The newest run that executed for the slot, and its status. */
  runId: string | null;
  status: RunStatus | null;
  /** Whether the schedule wanted this slot (a paused one is not waited for). */
  expected: boolean;
}

/** An upstream of the downstream slot, with its window and what its ledger holds there. */
export interface UpstreamState {
  pipeline: string;
  window: SlotWindow;
  /** The upstream's ledger in the window, or why it could not be read (an invalid or removed pipeline). */
  slots: UpstreamSlot[] | { problem: string };
}

/** A run of an upstream the downstream run consumed: recorded on the run as its lineage. */
export interface ConsumedRun {
  pipeline: string;
  scheduledFor: number;
  runId: string;
}

/** What one upstream still owes: the slots of its window that have not succeeded (or why it cannot say). */
export interface WaitingFor {
  pipeline: string;
  from: number;
  to: number;
  /** Upstream slots not succeeded yet, oldest first (at most MAX_LISTED). */
  slots: { scheduledFor: number; state: string; runId: string | null; status: RunStatus | null }[];
  /** How many there are, when more than are listed. */
  count: number;
  problem: string | null;
}

export type GateVerdict = { open: true; consumed: ConsumedRun[] } | { open: false; waitingFor: WaitingFor[]; consumed: ConsumedRun[] };

const MAX_LISTED = 24;

export function judgeGate(upstreams: readonly UpstreamState[]): GateVerdict {
  const consumed: ConsumedRun[] = [];
  const waitingFor: WaitingFor[] = [];
  for (const upstream of upstreams) {
    const base = { pipeline: upstream.pipeline, from: upstream.window.from, to: upstream.window.to };
    if (!Array.isArray(upstream.slots)) {
      waitingFor.push({ ...base, slots: [], count: 0, problem: upstream.slots.problem });
      continue;
    }
    const owed = [];
    for (const slot of upstream.slots) {
      if (slot.status === "succeeded" && slot.runId !== null) consumed.push({ pipeline: upstream.pipeline, scheduledFor: slot.scheduledFor, runId: slot.runId });
      else if (slot.expected) owed.push(slot);
    }
    if (owed.length > 0) {
      waitingFor.push({ ...base, slots: owed.slice(0, MAX_LISTED).map(({ scheduledFor, state, runId, status }) => ({ scheduledFor, state, runId, status })), count: owed.length, problem: null });
    }
  }
  return waitingFor.length === 0 ? { open: true, consumed } : { open: false, waitingFor, consumed };
}

/** The gate's answer in one line, for a log line, a skipped slot's reason or an alert. */
export function describeWaiting(waitingFor: readonly WaitingFor[]): string {
  return waitingFor
    .map((entry) => {
      if (entry.problem !== null) return `${entry.pipeline}: ${entry.problem}`;
      const failed = entry.slots.filter((slot) => slot.status === "failed" || slot.status === "cancelled").length;
      const what = `${entry.count} slot${entry.count === 1 ? "" : "s"} not succeeded`;
      return `${entry.pipeline}: ${what}${failed > 0 ? ` (${failed} of the first ${entry.slots.length} failed)` : ""}`;
    })
    .join("; ");
}

export const LATE_POLICIES = ["run", "miss"] as const;
/** What a slot whose upstream is still not in after the wait does: runs on what is there, or is missed. */
export type LatePolicy = (typeof LATE_POLICIES)[number];

export interface WaitPolicy {
  /** How long after its slot a downstream slot waits for its upstream before it is late. */
  waitMs: number;
  whenLate: LatePolicy;
}

/** How often a waiting slot looks at its upstream again, besides being told when an upstream run succeeds. */
export const WAITING_RECHECK_MS = 60_000;

export type WaitDecision =
  | { action: "start"; consumed: ConsumedRun[]; late: { waitingFor: WaitingFor[] } | null }
  | { action: "wait"; until: number; waitingFor: WaitingFor[] }
  | { action: "miss"; reason: string; waitingFor: WaitingFor[] };

/**
 * What a due downstream slot does now: start (its upstream is in, or it is late and runs anyway), wait
 * (look again at `until`: the next recheck, or the moment it becomes late), or be missed.
 */
export function decideWaiting(slot: number, verdict: GateVerdict, policy: WaitPolicy, now: number): WaitDecision {
  if (verdict.open) return { action: "start", consumed: verdict.consumed, late: null };
  const lateAt = slot + policy.waitMs;
  if (now < lateAt) return { action: "wait", until: Math.min(lateAt, now + WAITING_RECHECK_MS), waitingFor: verdict.waitingFor };
  if (policy.whenLate === "run") return { action: "start", consumed: verdict.consumed, late: { waitingFor: verdict.waitingFor } };
  return { action: "miss", reason: `missed: its upstream was not in ${formatInterval(policy.waitMs)} after the slot (${describeWaiting(verdict.waitingFor)})`, waitingFor: verdict.waitingFor };
}
