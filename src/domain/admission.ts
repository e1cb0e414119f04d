import { SLOT_TRIGGERS, type Trigger } from "./run";

/**
 * What happens to a request to start a run, given what the pipeline is doing. One run at a time per
 * pipeline, always:
 * - a run with the same id exists: nothing new (a repeated slot delivery, a repeated backfill start);
 * - a scheduled slot that another run already covers (a backfill ran it, or is running it): nothing new;
 * - the pipeline is free: the run starts;
 * - a run is active and a backfill is under way (or the active run is one of its runs): a scheduled slot
 *   waits for the current run and goes before the backfill's next one, so a backfill never costs the
 *   schedule a slot;
 * - a run is active otherwise: a scheduled slot is recorded as skipped (the seed's behaviour), except a
 *   missed slot from the backlog, which tries again later; a manual trigger, a retry and a backfill start
 *   are refused (409), and the caller tries again.
 */
export type Admission = "exists" | "covered" | "start" | "queue" | "skip" | "refuse";

export interface AdmissionRequest {
  trigger: Trigger;
  scheduledFor: number | null;
  /** A backlog slot: refused rather than skipped when the pipeline is busy. */
  ifIdle?: boolean;
}

export interface PipelineActivity {
  exists: boolean;
  /** A run of the request's slot is running or succeeded (under another id). */
  slotCovered?: boolean;
  active: { trigger: Trigger } | null;
  backfillActive: boolean;
}

export function admitRun(request: AdmissionRequest, activity: PipelineActivity): Admission {
  if (activity.exists) return "exists";
  const scheduled = (SLOT_TRIGGERS as readonly Trigger[]).includes(request.trigger) && request.scheduledFor !== null;
  if (scheduled && activity.slotCovered) return "covered";
  if (activity.active === null) return "start";
  if (scheduled && (activity.active.trigger === "backfill" || activity.backfillActive)) return "queue";
  if (!scheduled || request.ifIdle) return "refuse";
  return "skip";
}
