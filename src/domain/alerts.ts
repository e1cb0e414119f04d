import { warningResults } from "./check-results";
import type { Run, RunStatus } from "./run";

/**
 * `check_failed`: a run its error checks blocked (it failed before anything was written); it takes the
 * place of `run_failed` for that run, one alert per cause. `check_warned`: a run that loaded with failed
 * warn checks, or with error checks a retry accepted.
 */
export const ALERT_EVENTS = ["run_failed", "run_cancelled", "run_recovered", "check_failed", "check_warned"] as const;
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
      return run.errorCode === "checks_failed" ? "check_failed" : "run_failed";
    case "cancelled":
      return "run_cancelled";
    case "succeeded":
      return previousStatus === "failed" || previousStatus === "cancelled" ? "run_recovered" : null;
    default:
      return null;
  }
}

/**
 * Every alert a finished run warrants, one per cause: its outcome's (alertFor), and `check_warned` when it
 * loaded despite failed checks. A run that succeeds again with such checks sends both: the pipeline
 * recovered, and what it loaded needs a look. Backfill runs alert nothing one by one, as in alertFor.
 */
export function alertsFor(run: Run, previousStatus: RunStatus | null): AlertEvent[] {
  const events: AlertEvent[] = [];
  const outcome = alertFor(run, previousStatus);
  if (outcome) events.push(outcome);
  if (run.trigger !== "backfill" && run.status === "succeeded" && warningResults(run.checks?.results ?? []).length > 0) events.push("check_warned");
  return events;
}

/** One slot of a lateness alert. */
export interface LateSlot {
  scheduledFor: number;
  /** The newest run that executed for the slot (null: none did). */
  runId: string | null;
  status: RunStatus | null;
  /** For `upstream_late`: what the slot still waited for, in one line. */
  waitingFor?: string;
}
