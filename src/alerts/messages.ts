import { accountFor } from "../domain/accounting";
import type { AlertEvent, LateSlot } from "../domain/alerts";
import { blockingResults, warningResults, type CheckAcceptance, type CheckSeverity, type CheckType, type OffendingRecord } from "../domain/check-results";
import type { Backfill } from "../domain/backfill";
import { redactText } from "../domain/redaction";
import type { Run, RunStatus } from "../domain/run";
import type { LatenessEvent } from "../domain/slot-ledger";
import { slackHeadline, slackLink, slackText } from "./slack";

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
  /** `check_failed` and `check_warned`: the failed checks with their figures. */
  checks?: AlertCheck[];
}

/** A failed check as an alert carries it: what it expected and found, how many rows offend, the first of them. */
export interface AlertCheck {
  name: string;
  type: CheckType;
  severity: CheckSeverity;
  /** Whether this failure stopped the load (an error check not accepted). */
  blocking: boolean;
  expected: string;
  found: string;
  offending: number | null;
  /** The first offending records by position (at most 10), with the values judged: data, as the run keeps it. */
  sample: OffendingRecord[];
  /** A retry loaded despite it: who (the API token's label), when, of which run. */
  accepted: CheckAcceptance | null;
}

/** Checks named in an alert's text, and offending records named per check; the structured fields hold them all. */
const LISTED_CHECKS = 5;
const LISTED_RECORDS = 3;
/** A value longer than this is cut in the text (the structured sample holds it whole). */
const VALUE_CHARS = 60;

export function alertMessage(run: Run, event: AlertEvent, statusUrl: string): AlertMessage {
  const counts = accountFor(run);
  const stage = run.stages.find((candidate) => candidate.status === "failed" || candidate.status === "cancelled")?.name ?? null;
  const checkEvent = event === "check_failed" || event === "check_warned" ? event : null;
  const checks = checkEvent ? alertChecks(run, checkEvent) : null;
  const named = checks?.filter((check) => event === "check_warned" || check.blocking) ?? [];
  const failedChecks = `${named.length} failed check${named.length === 1 ? "" : "s"}`;
  const what = {
    run_failed: `run ${run.runId} failed${stage ? ` in ${stage}` : ""}`,
    run_cancelled: `run ${run.runId} was cancelled${stage ? ` in ${stage}` : ""}`,
    run_recovered: `run ${run.runId} succeeded again`,
    check_failed: `run ${run.runId} was blocked by ${failedChecks} before load, and nothing was written`,
    check_warned: `run ${run.runId} loaded with ${failedChecks}`,
  }[event];
  const details = `extracted ${counts.extracted}, loaded ${counts.loaded}, rejected ${counts.rejected}`;
  const error = run.error === undefined ? null : redactText(run.error);
  // A check alert says its figures instead of the error (which only repeats them, in one line).
  const cause = checkEvent && checks ? `: ${checksText(checks, checkEvent)}` : error && event !== "run_recovered" ? `: ${error}` : "";
  return {
    text: `${slackHeadline(event, run.pipeline, what)}${cause}. ${details}.${slackLink(statusUrl, "details")}`,
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
    ...(checks ? { checks } : {}),
  };
}

/**
 * The checks a check alert is about: for `check_failed` every failed check, those that blocked the load
 * first; for `check_warned` the failures it loaded despite (warn checks, accepted error checks).
 */
function alertChecks(run: Run, event: "check_failed" | "check_warned"): AlertCheck[] {
  const results = run.checks?.results ?? [];
  const blocking = blockingResults(results);
  const chosen = event === "check_failed" ? [...blocking, ...results.filter((result) => result.outcome === "failed" && !blocking.includes(result))] : warningResults(results);
  return chosen.map((result) => ({
    name: result.name,
    type: result.type,
    severity: result.severity,
    blocking: blocking.includes(result),
    expected: redactText(result.expected),
    found: redactText(result.found),
    offending: result.offending,
    sample: result.sample,
    accepted: result.accepted ?? null,
  }));
}

/** `reject_rate: expected at most 5 %…, found 20 % (2 of 10); accepted_values(currency): … (position 4 berlin/1005 currency="XYZ")` */
function checksText(checks: readonly AlertCheck[], event: "check_failed" | "check_warned"): string {
  const named = event === "check_failed" ? checks.filter((check) => check.blocking) : checks;
  const alsoFailed = event === "check_failed" ? checks.filter((check) => !check.blocking) : [];
  const listed = named.slice(0, LISTED_CHECKS).map(checkFigures);
  const hidden = named.length - listed.length;
  const also = alsoFailed.length > 0 ? `; also failed (warn): ${alsoFailed.map((check) => check.name).join(", ")}` : "";
  return slackText(`${listed.join("; ")}${hidden > 0 ? `; and ${hidden} more` : ""}${also}`);
}

function checkFigures(check: AlertCheck): string {
  const tag = check.accepted ? ` (${check.severity}, accepted by ${check.accepted.by ?? "an unlabelled token"} on the retry of ${check.accepted.retryOf})` : check.severity === "warn" ? " (warn)" : "";
  const records = check.sample.slice(0, LISTED_RECORDS).map(recordText);
  const more = check.offending !== null && check.offending > records.length && records.length > 0 ? `; +${check.offending - records.length} more` : "";
  return `${check.name}${tag}: expected ${check.expected}, found ${check.found}${records.length > 0 ? ` (${records.join("; ")}${more})` : ""}`;
}

/** `position 4 berlin/1005 currency="XYZ"` */
function recordText(record: OffendingRecord): string {
  const values = Object.entries(record.values).map(([column, value]) => {
    const shown = JSON.stringify(value);
    return `${column}=${shown.length > VALUE_CHARS ? `${shown.slice(0, VALUE_CHARS - 1)}…` : shown}`;
  });
  return [`position ${record.position}`, record.id, ...values].join(" ");
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
