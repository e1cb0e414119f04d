import { redactText } from "./redaction";
import { accountFor } from "./accounting";
import type { Run, RunStatus } from "./run";

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
 * before it (the last one that executed) failed or was cancelled.
 */
export function alertFor(run: Run, previousStatus: RunStatus | null): AlertEvent | null {
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
