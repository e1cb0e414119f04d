import type { Run, RunStatus } from "./run";
import { describeWaiting, type WaitingFor } from "./upstream-gate";

/**
 * The ledger of a pipeline's slots: for every slot its schedule expected, what became of it. The
 * coordinator keeps one record per slot that any run belonged to (kept when the runs themselves are
 * pruned from history); the scheduler, which knows which slots were expected, turns records into fates.
 */

/** `waiting`: the slot's time has come and it waits for its upstream pipelines (`waitingFor` says for what). */
export const SLOT_STATES = ["ran", "skipped", "missed", "pending", "waiting"] as const;
export type SlotState = (typeof SLOT_STATES)[number];

/**
 * What the coordinator keeps about one slot, across all the runs that belonged to it. A backfill runs a
 * slot long after its time, on purpose: it is kept apart, so the slot keeps the judgement its own runs
 * earned (started late, met its deadline or not) and shows the backfill beside it.
 */
export interface SlotRecord {
  slot: number;
  /** The newest run that executed for the slot (a scheduled, manual, retry or backfill run). */
  executed: { runId: string; status: RunStatus; startedAt: number; error: string | null } | null;
  /** When the first run of the slot's own (not a backfill) started. */
  firstStartedAt: number | null;
  /** The first run of the slot's own that succeeded, and when it ended. */
  succeeded: { runId: string; at: number } | null;
  /** Set when the slot was recorded as skipped (missed-run policy, or another run was active). */
  skipped: { runId: string; reason: string } | null;
  /** The newest backfill run of the slot (absent in records kept before backfills were kept apart). */
  backfill?: BackfillOfSlot | null;
}

export interface BackfillOfSlot {
  runId: string;
  backfillId: string | null;
  status: RunStatus;
  startedAt: number;
}

export function emptySlotRecord(slot: number): SlotRecord {
  return { slot, executed: null, firstStartedAt: null, succeeded: null, skipped: null, backfill: null };
}

/** The slot's record after a save of `run` (which belongs to the slot). */
export function recordRun(previous: SlotRecord | null, run: Run & { scheduledFor: number }): SlotRecord {
  const record = previous ?? emptySlotRecord(run.scheduledFor);
  if (run.status === "skipped") {
    return { ...record, skipped: { runId: run.runId, reason: (run.error ?? "skipped").replace(/^skipped: /, "") } };
  }
  const newest = record.executed === null || record.executed.runId === run.runId || run.startTime >= record.executed.startedAt;
  const executed = newest ? { runId: run.runId, status: run.status, startedAt: run.startTime, error: run.error ?? null } : record.executed;
  if (run.trigger === "backfill") {
    const current = record.backfill ?? null;
    const latest = current === null || current.runId === run.runId || run.startTime >= current.startedAt;
    return { ...record, executed, backfill: latest ? { runId: run.runId, backfillId: run.backfillId, status: run.status, startedAt: run.startTime } : current };
  }
  const ended = run.status === "succeeded" && run.endTime !== null;
  return {
    ...record,
    executed,
    firstStartedAt: Math.min(record.firstStartedAt ?? run.startTime, run.startTime),
    succeeded: ended && (record.succeeded === null || run.endTime! < record.succeeded.at) ? { runId: run.runId, at: run.endTime! } : record.succeeded,
  };
}

/** Whether the schedule in force at a slot's time wanted it run. */
export type SlotExpectation = "expected" | "paused";

export interface SlotEntry {
  scheduledFor: number;
  state: SlotState;
  /** The newest run that executed for the slot, or the record of its skip. */
  runId: string | null;
  status: RunStatus | null;
  /** Why the slot was skipped, missed, or why its run failed. */
  reason: string | null;
  /** How long after the slot its first run started (a backfill's is not counted: it runs late on purpose). */
  startedLateByMs: number | null;
  /** When a run of the slot had to have succeeded, if the pipeline has a deadline. */
  deadlineAt: number | null;
  /** Whether it did: null while the deadline has not passed, without a deadline, and for a paused slot. */
  deadlineMet: boolean | null;
  /** The newest backfill run of the slot, beside its own judgement; null if none. */
  backfill: BackfillOfSlot | null;
  /** For a waiting slot: what of its upstream it still waits for. */
  waitingFor: WaitingFor[] | null;
}

export interface FateContext {
  now: number;
  /** A due slot whose alarm is this late (or whose deadline passed) is missed; until then it is pending (being delivered). */
  missedAfterMs: number;
  deadlineMs: number | null;
  expectation: SlotExpectation;
}

export function slotFate(slot: number, record: SlotRecord | null, context: FateContext): SlotEntry {
  const deadline = { deadlineAt: context.deadlineMs === null ? null : slot + context.deadlineMs, deadlineMet: deadlineMetBy(slot, record, context) };
  const entry = (state: SlotState, fields: Partial<Pick<SlotEntry, "runId" | "status" | "reason" | "startedLateByMs">> = {}): SlotEntry => ({
    scheduledFor: slot,
    state,
    runId: fields.runId ?? null,
    status: fields.status ?? null,
    reason: fields.reason ?? null,
    startedLateByMs: fields.startedLateByMs ?? null,
    ...deadline,
    backfill: record?.backfill ?? null,
    waitingFor: null,
  });
  if (record?.executed) {
    const { executed } = record;
    const failed = executed.status === "failed" || executed.status === "cancelled";
    const startedLateByMs = record.firstStartedAt === null ? null : Math.max(0, record.firstStartedAt - slot);
    return entry("ran", { runId: executed.runId, status: executed.status, reason: failed ? executed.error : null, ...(startedLateByMs === null ? {} : { startedLateByMs }) });
  }
  if (record?.skipped) return entry("skipped", { runId: record.skipped.runId, status: "skipped", reason: record.skipped.reason });
  if (context.expectation === "paused") return entry("skipped", { reason: "the schedule was paused" });
  // Due and not yet run: pending while its alarm may still deliver it, and no longer than its deadline.
  const grace = context.deadlineMs === null ? context.missedAfterMs : Math.min(context.missedAfterMs, context.deadlineMs);
  if (context.now - slot <= grace) return entry("pending");
  return entry("missed", { reason: "no run was started for this slot" });
}

function deadlineMetBy(slot: number, record: SlotRecord | null, context: FateContext): boolean | null {
  if (context.deadlineMs === null || context.expectation === "paused") return null;
  const deadline = slot + context.deadlineMs;
  if (record?.succeeded && record.succeeded.at <= deadline) return true;
  return context.now > deadline ? false : null;
}

/** `upstream_late`: a slot still waited for its upstream pipelines when its wait ran out. */
export const LATENESS_EVENTS = ["run_late", "slot_missed", "upstream_late"] as const;
export type LatenessEvent = (typeof LATENESS_EVENTS)[number];

/**
 * A slot whose deadline has passed, judged once: fine if a run succeeded by then; `run_late` if one ran
 * (or is running, or failed) without succeeding in time; `slot_missed` if none executed at all. A slot
 * the schedule did not want (paused) is not judged.
 */
export function judgeDeadline(slot: number, record: SlotRecord | null, deadlineMs: number, expectation: SlotExpectation): LatenessEvent | null {
  if (expectation === "paused") return null;
  if (record?.succeeded && record.succeeded.at <= slot + deadlineMs) return null;
  // A run of the slot's own ran (a record from before backfills were kept apart counts its backfill too).
  const ownRun = record?.backfill === undefined ? record?.executed : record.firstStartedAt !== null;
  return ownRun ? "run_late" : "slot_missed";
}

export interface LedgerInput {
  /** The slots the schedule expected in the range. */
  expected: readonly { slot: number; expectation: SlotExpectation }[];
  /** The coordinator's records of the range's slots (some may be of slots not expected: backfilled before the schedule existed). */
  records: readonly SlotRecord[];
  /** Scheduled slots waiting for a backfill's current run. */
  queued: readonly number[];
  /** Slots waiting for their upstream, with what each waits for. */
  waiting?: ReadonlyMap<number, WaitingFor[]>;
  now: number;
  missedAfterMs: number;
  /** The deadline (ms after the slot) in force at a slot's time, or null. */
  deadlineMs(slot: number): number | null;
}

/** Every slot of the range with its fate, oldest first: the expected ones, and any other slot that ran. */
export function ledgerEntries(input: LedgerInput): SlotEntry[] {
  const records = new Map(input.records.map((record) => [record.slot, record]));
  const expectations = new Map(input.expected.map((entry) => [entry.slot, entry.expectation]));
  for (const record of input.records) if (!expectations.has(record.slot)) expectations.set(record.slot, "expected");
  const queued = new Set(input.queued);
  return [...expectations.entries()]
    .sort(([a], [b]) => a - b)
    .map(([slot, expectation]) => {
      const entry = slotFate(slot, records.get(slot) ?? null, { now: input.now, missedAfterMs: input.missedAfterMs, deadlineMs: input.deadlineMs(slot), expectation });
      if (queued.has(slot) && entry.state !== "ran") return { ...entry, state: "pending" as const, reason: "waiting for the backfill's current run to end" };
      const waitingFor = input.waiting?.get(slot);
      if (waitingFor && entry.state !== "ran" && entry.state !== "skipped") {
        return { ...entry, state: "waiting" as const, reason: waitingFor.length > 0 ? `waiting for its upstream: ${describeWaiting(waitingFor)}` : "its upstream is in; it starts once the pipeline is free and the slots before it have run", waitingFor };
      }
      return entry;
    });
}
