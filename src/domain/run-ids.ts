/** Manual runs are named after the moment they were requested. */
export function manualRunId(now: number): string {
  return `manual-${now}`;
}

/**
 * Scheduled runs are named after their slot, not after when the alarm happened to fire, so a second
 * delivery of the same alarm names the same run and cannot start another one.
 */
export function scheduledRunId(slotTime: number): string {
  return `scheduled-${slotTime}`;
}

/** Backfills are named after the moment they were requested. */
export function backfillId(now: number): string {
  return `bf-${now}`;
}

/**
 * A backfill's run of one slot: named after both, so starting it twice (an alarm delivered again) finds
 * the same run, and backfilling the slot again later (reprocess) names a new one.
 */
export function backfillRunId(backfill: string, slot: number): string {
  return `backfill-${slot}-${backfill}`;
}

/** Retries are named after the moment they were requested; the run says what it retries. */
export function retryRunId(now: number): string {
  return `retry-${now}`;
}
