import type { StageName } from "./stages";

/**
 * Every extracted record is accounted for: loaded, rejected with a reason, or skipped by the pipeline's
 * own choice. A run only succeeds when the books balance.
 */
export interface Accounting {
  extracted: number;
  loaded: number;
  rejected: number;
  skipped: number;
  /** extracted = loaded + rejected + skipped */
  balanced: boolean;
}

/** What a run whose books do not balance says. */
export function mismatchMessage(accounting: Accounting): string {
  return `accounting mismatch: extracted ${accounting.extracted}, loaded ${accounting.loaded}, rejected ${accounting.rejected}, skipped ${accounting.skipped}`;
}

export function accountFor(run: {
  stages: readonly { name: StageName; inputCount: number | null; outputCount: number | null }[];
  rejectedCount: number;
  skippedCount: number;
}): Accounting {
  const stage = (name: StageName) => run.stages.find((candidate) => candidate.name === name);
  // Extract counts what it read from the source, unparsable input included (it rejects that itself).
  const extracted = stage("extract")?.inputCount ?? 0;
  const loaded = stage("load")?.outputCount ?? 0;
  const { rejectedCount: rejected, skippedCount: skipped } = run;
  return { extracted, loaded, rejected, skipped, balanced: extracted === loaded + rejected + skipped };
}
