import type { StageCounts } from "../../domain/stage-report";

/** The latest counts of each shard of the stage a run is in, summed into the run's live progress. */
export class ShardProgress {
  private readonly byRun = new Map<string, Map<number, StageCounts>>();

  /** Records one shard's counts; answers the stage's total so far. */
  record(runId: string, shard: number, counts: StageCounts): StageCounts {
    const shards = this.byRun.get(runId) ?? new Map<number, StageCounts>();
    this.byRun.set(runId, shards.set(shard, counts));
    const total = { inputCount: 0, outputCount: 0, rejectedCount: 0 };
    for (const part of shards.values()) {
      total.inputCount += part.inputCount;
      total.outputCount += part.outputCount;
      total.rejectedCount += part.rejectedCount;
    }
    return total;
  }

  /** A stage attempt starts, or the run ended: counting starts over. */
  reset(runId: string): void {
    this.byRun.delete(runId);
  }
}
