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

/** One slot of a lateness alert. */
export interface LateSlot {
  scheduledFor: number;
  /** The newest run that executed for the slot (null: none did). */
  runId: string | null;
  status: RunStatus | null;
  /** For `upstream_late`: what the slot still waited for, in one line. */
  waitingFor?: string;
}
