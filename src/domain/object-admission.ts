/**
 * When the objects a pipeline was told of start their run, and which of them it is started for. Objects
 * wait together until none has arrived for the debounce (uploads close together make one run), and never
 * longer than DEBOUNCE_CAP_FACTOR debounces in all, so a steady stream of uploads still runs. At that
 * moment each is looked at as it is then: only what is still there as notified, not read yet, and where
 * the pipeline's source reads it starts the run. No I/O, no clock: times are inputs.
 */

/** However long uploads keep coming, the first one waiting runs within this many debounces. */
export const DEBOUNCE_CAP_FACTOR = 10;

/** When the objects waiting are admitted, or null when none waits. `receivedAt` is when each was heard of. */
export function admissionDue(waiting: readonly { receivedAt: number }[], debounceMs: number): number | null {
  if (waiting.length === 0) return null;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const entry of waiting) {
    first = Math.min(first, entry.receivedAt);
    last = Math.max(last, entry.receivedAt);
  }
  return Math.min(last + debounceMs, first + DEBOUNCE_CAP_FACTOR * debounceMs);
}

/** An object as its source finds it when its run would start. */
export type ObjectState =
  /** There, with the etag it was notified with, not read by any run. */
  | { state: "current" }
  /** No longer there. */
  | { state: "missing" }
  /** There with another etag: overwritten since (or this notification came after a newer one's). */
  | { state: "changed"; etag: string }
  /** A run that succeeded read it already (a scheduled or manual run found it first). */
  | { state: "read"; runId: string }
  /** Where the pipeline's source does not read (outside its prefix, or not matching its files). */
  | { state: "outside"; reason: string };

export type Verdict = { admit: true } | { admit: false; reason: string };

/** Whether an object is part of the run about to start, or why not. */
export function judgeObject(state: ObjectState): Verdict {
  switch (state.state) {
    case "current":
      return { admit: true };
    case "read":
      return { admit: false, reason: `read by ${state.runId}` };
    case "missing":
      return { admit: false, reason: "deleted before its run started" };
    case "changed":
      return { admit: false, reason: `superseded: the object now has etag ${state.etag}, which is read as its own` };
    case "outside":
      return { admit: false, reason: state.reason };
    default: {
      const unknown: never = state;
      throw new Error(`unknown object state ${JSON.stringify(unknown)}`);
    }
  }
}
