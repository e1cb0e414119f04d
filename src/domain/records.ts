import type { StageName } from "./stages";

/**
 * A record as a source sends it. Sources are untrusted, so nothing is assumed about its shape until the
 * pipeline's record schema has checked it.
 */
export type RawRecord = unknown;

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

/** Why a record whose key an earlier record of the run took is rejected ("reject" duplicates): names the first. */
export function duplicateReason(id: string, firstPosition: number): string {
  return `duplicate id ${JSON.stringify(id)} (first seen at position ${firstPosition})`;
}

export function rawForStorage(record: RawRecord): string {
  const json = JSON.stringify(record) ?? "null";
  return json.length > MAX_RAW_CHARS ? `${json.slice(0, MAX_RAW_CHARS)}…[truncated]` : json;
}

/**
 * Text as it can be stored and read back: well-formed as it is, or with each lone surrogate written as its
 * escape (`\ud800`), so an id or a reason naming a poison value survives the trip through UTF-8.
 */
export function storableText(text: string): string;
export function storableText(text: string | null): string | null;
export function storableText(text: string | null): string | null {
  if (text === null || text.isWellFormed()) return text;
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16)}`);
}
