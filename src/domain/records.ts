import type { Category } from "./categories";
import type { StageName } from "./stages";

/**
 * A record as a source sends it. Sources are untrusted, so nothing is assumed about its shape until the
 * transform stage has validated it; the expected shape is
 * `{ id: string, value: string | number, timestamp: string | number, metadata?: { type?: string } }`.
 */
export type RawRecord = unknown;

/** A validated, categorised record: what the load stage writes to the `metrics` table. */
export interface CleanRecord {
  id: string;
  /** ISO-8601 in UTC. */
  timestamp: string;
  value: number;
  category: Category;
  /** `metadata.type` of the raw record (for the sample data, the sensor), or null. */
  type: string | null;
  cleaned: true;
}

/** A clean record as staged between transform and load: with its position, so load can keep order. */
export type StagedRecord = CleanRecord & { position: number };

/** A record a stage refused. `position` is its index in the run's extracted input. */
export interface Rejection {
  position: number;
  id: string | null;
  stage: StageName;
  reason: string;
  /** The record as received, as JSON (cut at MAX_RAW_CHARS). */
  raw: string;
}

/** What a run reports about a rejected record. */
export type RejectionSummary = Pick<Rejection, "id" | "stage" | "reason">;

/** A rejection as stages report it in their samples: with its position, so samples merge in order. */
export type RejectionSample = RejectionSummary & { position: number };

/** Bounds the size a single rejected record can take in storage. */
export const MAX_RAW_CHARS = 16 * 1024;

export function rawForStorage(record: RawRecord): string {
  const json = JSON.stringify(record) ?? "null";
  return json.length > MAX_RAW_CHARS ? `${json.slice(0, MAX_RAW_CHARS)}…[truncated]` : json;
}
