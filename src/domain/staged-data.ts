/**
 * Records travel between stages by reference: a stage writes chunks to the staging store and hands on
 * their keys, how many records each holds, and the total.
 */
export interface StagedData {
  keys: string[];
  counts: number[];
  count: number;
}

export const NOTHING_STAGED: StagedData = Object.freeze({ keys: [], counts: [], count: 0 }) as StagedData;

export function concatStaged(parts: readonly StagedData[]): StagedData {
  return {
    keys: parts.flatMap((part) => part.keys),
    counts: parts.flatMap((part) => part.counts),
    count: parts.reduce((sum, part) => sum + part.count, 0),
  };
}

/**
 * What a stage reads: the previous stage's records (in partitions), the records refused so far (load
 * persists them), and the extracted records as received (load reads raw forms of duplicates from it).
 */
export interface StageInput {
  records: StagedData[];
  rejected: StagedData[];
  raw: StagedData;
}
