import type { RejectionSample } from "./records";
import { mergeTallies, type CheckTallyState } from "./check-results";
import { mergeContractSummaries, type ContractSummary } from "./contract-summary";
import { concatStaged, NOTHING_STAGED, type StagedData } from "./staged-data";

/**
 * What a stage agent tells the coordinator: small by design, since records travel by reference. Several
 * shards of one stage report as one.
 */

/** At most this many rejected records are kept on the run itself; all of them are in D1. */
export const MAX_REJECTED_IN_RUN = 100;

/** At most this many of an object source's objects are listed on the run; the object ledger has all. */
export const MAX_OBJECTS_IN_RUN = 100;

/**
 * What served a run's records, and why earlier sources were passed over. When every source failed, it
 * describes the last one tried (`served: false`), so a failed run still says what was attempted.
 */
export interface SourceReport {
  name: string;
  /** Whether this source delivered the run's records. */
  served: boolean;
  /** The source's kind (its `type`). */
  kind: string;
  url: string | null;
  format: string | null;
  pages: number;
  /** The page limit stopped the read while the source still offered more. */
  truncated: boolean;
  /** The watermark sent to the source, if any. */
  watermark: string | null;
  /** Tries of the serving source, and why the failed ones failed. */
  attempts: number;
  attemptErrors: string[];
  skipped: { name: string; reason: string }[];
  /** Object sources: the first objects read or passed over, in key order (MAX_OBJECTS_IN_RUN of them). */
  objects?: { key: string; etag: string; size: number; records: number | null; firstPosition: number | null; skipped?: string }[];
  /** Object sources: how many objects were read and how many passed over, in all. */
  objectCounts?: { read: number; skipped: number };
}

/** Counts a stage reports as it goes and when it ends. */
export interface StageCounts {
  inputCount: number;
  outputCount: number;
  rejectedCount: number;
}

export interface StageReport extends StageCounts {
  /** Records the pipeline's transform chose to skip (neither loaded nor rejected), counted. */
  skippedCount?: number;
  /** The records the next stage reads, in partitions (transform writes one per load shard). */
  output: StagedData[];
  /** Records refused by this stage, staged for the load stage to persist. */
  rejected: StagedData;
  /** The first few rejections, for the run's summary. */
  rejectedSample: RejectionSample[];
  /** Extract: which source served the records. */
  source?: SourceReport;
  /** Transform: the newest value of the watermark column among the loaded rows (the next run's watermark). */
  newestWatermark?: string | null;
  /** Transform, for a pipeline with dataset checks: what the rows showed, and the keys for the partitioned pass. */
  checks?: CheckedBatch;
  /** Transform: the fields the record schema does not know that records carried, and what the contract did (absent when there is nothing to say). */
  contract?: ContractSummary;
}

/** A transform's findings for the dataset checks, and (per partition) the keys the partitioned checks still judge. */
export interface CheckedBatch {
  tally: CheckTallyState;
  keys: StagedData[];
}

/** Several shards of one stage report as one. Outputs keep shard order, which is position order. */
export function mergeReports(reports: readonly StageReport[]): StageReport {
  const partitions = Math.max(0, ...reports.map((report) => report.output.length));
  const watermarks = reports.map((report) => report.newestWatermark).filter((value): value is string => typeof value === "string");
  const skipped = reports.some((report) => report.skippedCount !== undefined);
  return {
    inputCount: reports.reduce((sum, report) => sum + report.inputCount, 0),
    outputCount: reports.reduce((sum, report) => sum + report.outputCount, 0),
    rejectedCount: reports.reduce((sum, report) => sum + report.rejectedCount, 0),
    ...(skipped ? { skippedCount: reports.reduce((sum, report) => sum + (report.skippedCount ?? 0), 0) } : {}),
    output: Array.from({ length: partitions }, (_, index) => concatStaged(reports.map((report) => report.output[index] ?? NOTHING_STAGED))),
    rejected: concatStaged(reports.map((report) => report.rejected)),
    rejectedSample: reports
      .flatMap((report) => report.rejectedSample)
      .sort((a, b) => a.position - b.position)
      .slice(0, MAX_REJECTED_IN_RUN),
    ...(reports.some((report) => report.source) ? { source: reports.find((report) => report.source)!.source } : {}),
    ...(reports.some((report) => report.checks) ? { checks: mergeChecked(reports.flatMap((report) => (report.checks ? [report.checks] : []))) } : {}),
    ...(reports.some((report) => report.contract) ? { contract: mergeContractSummaries(reports.flatMap((report) => (report.contract ? [report.contract] : []))) } : {}),
    ...(watermarks.length > 0 ? { newestWatermark: watermarks.sort().at(-1)! } : reports.some((report) => "newestWatermark" in report) ? { newestWatermark: null } : {}),
  };
}

function mergeChecked(parts: readonly CheckedBatch[]): CheckedBatch {
  const partitions = Math.max(0, ...parts.map((part) => part.keys.length));
  return {
    tally: mergeTallies(parts.map((part) => part.tally)),
    keys: Array.from({ length: partitions }, (_, index) => concatStaged(parts.map((part) => part.keys[index] ?? NOTHING_STAGED))),
  };
}
