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

/** A cascade's backfill of one downstream pipeline: named after the root, so a repeated notice finds it. */
export function cascadeBackfillId(root: string, pipeline: string): string {
  return `${root}.${pipeline}`;
}

/**
 * An event run is named after the event that opened it (when it arrived, and its place in the pipeline's
 * count), fixed and stored before the run is started: starting it again after a crash finds the same run.
 */
export function eventRunId(receivedAt: number, seq: number): string {
  return `event-${receivedAt}-${seq}`;
}

/**
 * A run started by objects landing: named after the moment its objects were admitted, and written to
 * them before it is started, so starting it again after the scheduler stopped in between finds the same run.
 */
export function objectRunId(admittedAt: number): string {
  return `object-${admittedAt}`;
}
