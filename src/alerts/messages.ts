import { accountFor } from "../domain/accounting";
import type { AlertEvent, LateSlot } from "../domain/alerts";
import type { Backfill } from "../domain/backfill";
import { redactText } from "../domain/redaction";
import type { Run, RunStatus } from "../domain/run";
import type { LatenessEvent } from "../domain/slot-ledger";
import { slackHeadline, slackLink } from "./slack";

/**
 * What an alert says: the facts as structured fields for any receiver, and `text` for a Slack-style
 * webhook (written by slack.ts). Errors are redacted where they arise; they are redacted again here, the
 * last line of defence before a third party.
 */

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
  const what = {
    run_failed: `run ${run.runId} failed${stage ? ` in ${stage}` : ""}`,
    run_cancelled: `run ${run.runId} was cancelled${stage ? ` in ${stage}` : ""}`,
    run_recovered: `run ${run.runId} succeeded again`,
  }[event];
  const details = `extracted ${counts.extracted}, loaded ${counts.loaded}, rejected ${counts.rejected}`;
  const error = run.error === undefined ? null : redactText(run.error);
  return {
    text: `${slackHeadline(event, run.pipeline, what)}${error && event !== "run_recovered" ? `: ${error}` : ""}. ${details}.${slackLink(statusUrl, "details")}`,
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

/** A lateness alert: slots of one pipeline whose deadline passed without a successful run, judged together. */
export interface LatenessMessage {
  text: string;
  event: LatenessEvent;
  pipeline: string;
  deadline: string;
  slots: { scheduledFor: string; runId: string | null; status: RunStatus | null; waitingFor?: string }[];
  ledgerUrl: string;
}

/** Slots listed by name in one message; the rest are counted. */
const LISTED_SLOTS = 10;

export function latenessMessage(pipeline: string, event: LatenessEvent, slots: readonly LateSlot[], deadline: string, ledgerUrl: string): LatenessMessage {
  const listed = slots.slice(0, LISTED_SLOTS).map((slot) => {
    const at = new Date(slot.scheduledFor).toISOString();
    if (event === "upstream_late") return `${at} (waiting for ${slot.waitingFor ?? "its upstream"})`;
    return event === "slot_missed" ? at : `${at} (${slot.runId ? `run ${slot.runId} ${slot.status}` : "no run"})`;
  });
  const more = slots.length > LISTED_SLOTS ? ` and ${slots.length - LISTED_SLOTS} more` : "";
  const count = slots.length === 1 ? "slot" : `${slots.length} slots`;
  const what =
    event === "upstream_late"
      ? `${count} still waited for upstream pipelines ${deadline} after the slot: ${listed.join(", ")}${more}`
      : event === "slot_missed"
        ? `${count} passed without any run: ${listed.join(", ")}${more}`
        : `${count} had not succeeded ${deadline} after the slot: ${listed.join(", ")}${more}`;
  return {
    text: `${slackHeadline(event, pipeline, what)}.${slackLink(ledgerUrl, "ledger")}`,
    event,
    pipeline,
    deadline,
    slots: slots.map((slot) => ({ scheduledFor: new Date(slot.scheduledFor).toISOString(), runId: slot.runId, status: slot.status, ...(slot.waitingFor === undefined ? {} : { waitingFor: slot.waitingFor }) })),
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
  const why = first?.reason ? `; first: ${redactText(first.reason)}` : "";
  const what = `backfill ${backfill.backfillId} ended with ${failed.length} of ${failed.length + counts.succeeded} slots failed${why}`;
  return {
    text: `${slackHeadline("backfill_failed", backfill.pipeline, what)}.${slackLink(statusUrl, "details")}`,
    event: "backfill_failed",
    pipeline: backfill.pipeline,
    backfillId: backfill.backfillId,
    counts,
    failed: failed.slice(0, LISTED_SLOTS).map((slot) => ({ scheduledFor: new Date(slot.scheduledFor).toISOString(), runId: slot.runId, reason: slot.reason === null ? null : redactText(slot.reason) })),
    statusUrl,
  };
}
