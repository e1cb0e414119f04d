import { concatStaged, NOTHING_STAGED, type StageInput, type StagedData } from "./staged-data";
import type { StageName } from "./stages";

/**
 * How a stage's work is split between agents working side by side:
 * - extract is one agent (one source stream);
 * - transform shards take contiguous ranges of extract's chunks, so positions stay in order;
 * - load shard b takes id bucket b of transform's output, so all occurrences of an id meet in one
 *   shard, in position order, and duplicates are found whatever the parallelism.
 */
export interface ShardPlan {
  shard: number;
  shards: number;
  /** Position of the shard's first input record in the run's extracted input. */
  offset: number;
  input: StageInput;
}

export function planShards(stage: StageName, input: StageInput, parallelism: { transform: number; load: number }): ShardPlan[] {
  if (stage === "extract") return [{ shard: 0, shards: 1, offset: 0, input }];
  if (stage === "transform") {
    const records = concatStaged(input.records);
    const ranges = splitContiguous(records.counts.length, parallelism.transform);
    let offset = 0;
    return ranges.map(([start, end], shard) => {
      const part = slice(records, start, end);
      const plan: ShardPlan = { shard, shards: ranges.length, offset, input: { ...input, records: [part] } };
      offset += part.count;
      return plan;
    });
  }
  // Load: one shard per id bucket; the staged rejections are shared out so each is saved once.
  const buckets = input.records.length > 0 ? input.records : [NOTHING_STAGED];
  return buckets.map((bucket, shard) => ({
    shard,
    shards: buckets.length,
    offset: 0,
    input: { ...input, records: [bucket], rejected: input.rejected.filter((_, index) => index % buckets.length === shard) },
  }));
}

/** Splits `length` items into at most `parts` contiguous, nearly equal, non-empty ranges (at least one). */
export function splitContiguous(length: number, parts: number): [number, number][] {
  const count = Math.max(1, Math.min(parts, length));
  const ranges: [number, number][] = [];
  for (let index = 0; index < count; index += 1) {
    ranges.push([Math.floor((index * length) / count), Math.floor(((index + 1) * length) / count)]);
  }
  return ranges;
}

function slice(staged: StagedData, start: number, end: number): StagedData {
  const counts = staged.counts.slice(start, end);
  const part: StagedData = { keys: staged.keys.slice(start, end), counts, count: counts.reduce((sum, count) => sum + count, 0) };
  if (staged.inline) part.inline = staged.inline.slice(start, end);
  return part;
}

/** Which load shard an id belongs to: FNV-1a, stable across runs and runtimes. */
export function bucketOf(id: string, buckets: number): number {
  if (buckets <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let index = 0; index < id.length; index += 1) {
    hash ^= id.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % buckets;
}

/** Agents are named after the run (its `runKey`); shard 0 keeps the plain `<runKey>:<stage>` name. */
export function shardInstanceName(key: string, stage: StageName, shard: number): string {
  return shard === 0 ? `${key}:${stage}` : `${key}:${stage}:${shard}`;
}
