/**
 * Records travel between stages by reference: a stage writes chunks to the staging store and hands on
 * their keys, how many records each holds, and the total. A stage whose whole output is one small chunk
 * hands the chunk's text on itself (`inline`, aligned with `keys`; null where a chunk is in the store):
 * a small run makes no staging round trips, and the text is checkpointed with the run like the keys are.
 */
export interface StagedData {
  keys: string[];
  counts: number[];
  count: number;
  inline?: (string | null)[];
}

export const NOTHING_STAGED: StagedData = Object.freeze({ keys: [], counts: [], count: 0 }) as StagedData;

export function concatStaged(parts: readonly StagedData[]): StagedData {
  const joined: StagedData = {
    keys: parts.flatMap((part) => part.keys),
    counts: parts.flatMap((part) => part.counts),
    count: parts.reduce((sum, part) => sum + part.count, 0),
  };
  if (parts.some((part) => part.inline)) joined.inline = parts.flatMap((part) => part.inline ?? part.keys.map(() => null));
  return joined;
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
