import { redactText } from "./redaction";
import { accountFor } from "./accounting";
import type { Backfill } from "./backfill";
import type { Run, RunStatus } from "./run";
import type { LatenessEvent } from "./slot-ledger";

export const ALERT_EVENTS = ["run_failed", "run_cancelled", "run_recovered"] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

export const ALERT_STATUSES = ["pending", "delivered", "failed"] as const;

/** What the run keeps about an alert: it never changes the run's outcome, but it is visible. */
export interface AlertRecord {
  event: AlertEvent;
  status: (typeof ALERT_STATUSES)[number];
  attempts: number;
  error?: string;
  at: number;
}

/**
 * Which alert a finished run warrants: a failure or a cancellation always; a success only if the run
 * before it (the last one that executed, backfill runs aside) failed or was cancelled. A backfill's runs
 * alert nothing one by one (a backfill against a source that is down would send one alert per slot): the
 * backfill alerts once, when it ends with failures.
 */
export function alertFor(run: Run, previousStatus: RunStatus | null): AlertEvent | null {
  if (run.trigger === "backfill") return null;
  switch (run.status) {
    case "failed":
      return "run_failed";
    case "cancelled":
      return "run_cancelled";
    case "succeeded":
      return previousStatus === "failed" || previousStatus === "cancelled" ? "run_recovered" : null;
    default:
      return null;
  }
}

/** A Slack-compatible message (`text`) with the same facts as structured fields, for any other receiver. */
export interface AlertMessage {
  text: string;
  event: AlertEvent;
  pipeline: string;
  runId: string;
  status: RunStatus;
  trigger: string;
  stage: string | null;
  error: string | null;
  counts: { extracted: number; loaded: number; rejected: number };
  durationMs: number | null;
  statusUrl: string;
  startedAt: string;
  finishedAt: string | null;
}

export function alertMessage(run: Run, event: AlertEvent, statusUrl: string): AlertMessage {
  const counts = accountFor(run);
  const stage = run.stages.find((candidate) => candidate.status === "failed" || candidate.status === "cancelled")?.name ?? null;
  const headline = {
    run_failed: `:red_circle: Pipeline *${run.pipeline}*: run ${run.runId} failed${stage ? ` in ${stage}` : ""}`,
    run_cancelled: `:large_orange_circle: Pipeline *${run.pipeline}*: run ${run.runId} was cancelled${stage ? ` in ${stage}` : ""}`,
    run_recovered: `:large_green_circle: Pipeline *${run.pipeline}*: run ${run.runId} succeeded again`,
  }[event];
  const details = `extracted ${counts.extracted}, loaded ${counts.loaded}, rejected ${counts.rejected}`;
  // Run errors are redacted where they arise; this is the last line of defence before a third party.
  const error = run.error === undefined ? null : redactText(run.error);
  const link = /^https?:\/\//.test(statusUrl) ? ` <${statusUrl}|details>` : ` (${statusUrl})`;
  return {
    text: `${headline}${error && event !== "run_recovered" ? `: ${error}` : ""}. ${details}.${link}`,
    event,
    pipeline: run.pipeline,
    runId: run.runId,
    status: run.status,
    trigger: run.trigger,
    stage,
    error,
    counts: { extracted: counts.extracted, loaded: counts.loaded, rejected: counts.rejected },
    durationMs: run.endTime === null ? null : run.endTime - run.startTime,
    statusUrl,
    startedAt: new Date(run.startTime).toISOString(),
    finishedAt: run.endTime === null ? null : new Date(run.endTime).toISOString(),
  };
}

/** One slot of a lateness alert. */
export interface LateSlot {
  scheduledFor: number;
  /** The newest run that executed for the slot (null: none did). */
  runId: string | null;
  status: RunStatus | null;
}

/** A lateness alert: slots of one pipeline whose deadline passed without a successful run, judged together. */
export interface LatenessMessage {
  text: string;
  event: LatenessEvent;
  pipeline: string;
  deadline: string;
  slots: { scheduledFor: string; runId: string | null; status: RunStatus | null }[];
  ledgerUrl: string;
}

/** Slots listed by name in one message; the rest are counted. */
const LISTED_SLOTS = 10;

export function latenessMessage(pipeline: string, event: LatenessEvent, slots: readonly LateSlot[], deadline: string, ledgerUrl: string): LatenessMessage {
  const listed = slots.slice(0, LISTED_SLOTS).map((slot) => {
    const at = new Date(slot.scheduledFor).toISOString();
    return event === "slot_missed" ? at : `${at} (${slot.runId ? `run ${slot.runId} ${slot.status}` : "no run"})`;
  });
  const more = slots.length > LISTED_SLOTS ? ` and ${slots.length - LISTED_SLOTS} more` : "";
  const count = slots.length === 1 ? "slot" : `${slots.length} slots`;
  const headline =
    event === "slot_missed"
      ? `:warning: Pipeline *${pipeline}*: ${count} passed without any run: ${listed.join(", ")}${more}`
      : `:hourglass: Pipeline *${pipeline}*: ${count} had not succeeded ${deadline} after the slot: ${listed.join(", ")}${more}`;
  const link = /^https?:\/\//.test(ledgerUrl) ? ` <${ledgerUrl}|ledger>` : ` (${ledgerUrl})`;
  return {
    text: `${headline}.${link}`,
    event,
    pipeline,
    deadline,
    slots: slots.map((slot) => ({ scheduledFor: new Date(slot.scheduledFor).toISOString(), runId: slot.runId, status: slot.status })),
    ledgerUrl,
  };
}

/** The one alert of a backfill that ended with failed slots. */
export interface BackfillAlertMessage {
  text: string;
  event: "backfill_failed";
  pipeline: string;
  backfillId: string;
  counts: { succeeded: number; failed: number; cancelled: number; skipped: number };
  failed: { scheduledFor: string; runId: string | null; reason: string | null }[];
  statusUrl: string;
}

export function backfillAlertMessage(backfill: Backfill, statusUrl: string): BackfillAlertMessage {
  const counts = { succeeded: 0, failed: 0, cancelled: 0, skipped: 0 };
  for (const slot of backfill.slots) if (slot.status in counts) counts[slot.status as keyof typeof counts] += 1;
  const failed = backfill.slots.filter((slot) => slot.status === "failed" || slot.status === "cancelled");
  const first = failed[0];
  const link = /^https?:\/\//.test(statusUrl) ? ` <${statusUrl}|details>` : ` (${statusUrl})`;
  const why = first?.reason ? `; first: ${redactText(first.reason)}` : "";
  return {
    text: `:red_circle: Pipeline *${backfill.pipeline}*: backfill ${backfill.backfillId} ended with ${failed.length} of ${failed.length + counts.succeeded} slots failed${why}.${link}`,
    event: "backfill_failed",
    pipeline: backfill.pipeline,
    backfillId: backfill.backfillId,
    counts,
    failed: failed.slice(0, LISTED_SLOTS).map((slot) => ({ scheduledFor: new Date(slot.scheduledFor).toISOString(), runId: slot.runId, reason: slot.reason === null ? null : redactText(slot.reason) })),
    statusUrl,
  };
}
