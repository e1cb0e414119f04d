/**
 * What a pipeline's transform may return besides a row: a rejection with a reason (the record is kept in
 * rejected_records), or a skip (the record is counted, neither loaded nor rejected).
 */
const OUTCOME = Symbol("scheduled-pipeline.outcome");

export interface Rejected {
  readonly [OUTCOME]: "rejected";
  readonly reason: string;
  /** How the rejected record is named in the run and in rejected_records (default: the pipeline's recordId). */
  readonly id: string | null | undefined;
}

export interface Skipped {
  readonly [OUTCOME]: "skipped";
}

export function reject(reason: string, options: { id?: string | null } = {}): Rejected {
  return { [OUTCOME]: "rejected", reason, id: options.id };
}

export function skip(): Skipped {
  return { [OUTCOME]: "skipped" };
}

export function isRejected(value: unknown): value is Rejected {
  return typeof value === "object" && value !== null && (value as Rejected)[OUTCOME] === "rejected";
}

export function isSkipped(value: unknown): value is Skipped {
  return typeof value === "object" && value !== null && (value as Skipped)[OUTCOME] === "skipped";
}
