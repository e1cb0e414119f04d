import { StageFailure } from "../../domain/failures";
import type { StageReport } from "../../domain/stage-report";
import { shardInstanceName } from "../../domain/shards";
import { runKey } from "../../domain/stages";
import type { ChunkFeed, FedChunk, FeedNews } from "../../staging/chunk-feed";
import { NOTHING_STAGED } from "../../domain/staged-data";
import type { StagedData } from "../../domain/staged-data";
import { readChunk, readStaged, readStagedChunk } from "../../staging/staging-store";
import { StageAgent } from "./stage-agent";
import type { StageContext, StageTask } from "./stage-task";
import { runCheckPassTask } from "./check-pass-task";
import { TransformPass } from "./transform-pass";
import { FeedKeeper } from "./feeds";
import { untilAborted } from "./until-aborted";

/** How long one poll of the extract's feed may be held open. */
const FEED_POLL_MS = 5_000;
/** How often a follower whose extract agent was reset asks the run whether extract has ended. */
const LOST_FEED_RECHECK_MS = 500;

/**
 * Runs a range of extracted chunks through the pipeline (a TransformPass): the chunks extract staged, or,
 * following an extract still at work, each chunk as soon as it is staged.
 */
export class TransformStage extends StageAgent {
  /** Each attempt's chunks of rows as they are staged, for a load that follows it (by attempt). */
  private readonly feeds = new FeedKeeper();

  /** A following load's long poll (see ExtractStage.feedNext). */
  async feedNext(attempt: number, generation: number, from: number, waitMs: number): Promise<FeedNews> {
    return this.feeds.next(attempt, generation, from, waitMs);
  }

  protected override awaited(now: number): boolean {
    return this.feeds.awaited(now);
  }

  protected async perform(task: StageTask, stage: StageContext): Promise<StageReport> {
    if (task.pass === "checks") return runCheckPassTask(this.env, this.ctx.storage.sql, task, stage);
    const feed = this.feeds.of(task.attempt);
    try {
      const report = task.follow ? await this.follow(task, stage, feed) : await this.transformStaged(task, stage, feed);
      feed.finish(report.output[0] ?? NOTHING_STAGED);
      return report;
    } catch (error) {
      feed.fail(error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  private async transformStaged(task: StageTask, stage: StageContext, feed: ChunkFeed): Promise<StageReport> {
    feed.restart();
    const pass = new TransformPass(this.env.STAGING, task, stage.progress, feed);
    for await (const chunk of readStaged(this.env.STAGING, task.input.records[0]!, task.offset)) {
      stage.signal.throwIfAborted();
      await pass.chunk(chunk);
    }
    return pass.finish();
  }

  /**
   * Transforms extract's chunks while extract writes them. What counts in the end is extract's output:
   * the chunks taken on the way must be its first ones, from the same read of the source; when extract
   * started its read over (a source's next try, the next source), the pass starts over with it. When the
   * extract agent was reset under it (a feed that has not begun, after one that had), the output comes
   * from the run once it is recorded, and the pass starts over on all of it: what was taken from the lost
   * feed cannot be told apart from a later read's chunks under the same keys.
   */
  private async follow(task: StageTask, { signal, progress }: StageContext, feed: ChunkFeed): Promise<StageReport> {
    const extract = this.env.ExtractStage.getByName(shardInstanceName(runKey(task.settings.pipeline, task.runId), "extract", 0));
    feed.restart();
    let pass = new TransformPass(this.env.STAGING, task, progress, feed);
    let generation = 0;
    let taken: FedChunk[] = [];
    let offset = task.offset;
    const startOver = () => {
      // A load following this one starts over too: what it took came from a read that no longer counts.
      feed.restart();
      pass = new TransformPass(this.env.STAGING, task, progress, feed);
      taken = [];
      offset = task.offset;
    };
    const take = async (records: unknown[]) => {
      signal.throwIfAborted();
      await pass.chunk({ offset, records });
      offset += records.length;
    };
    const finishWith = async (output: StagedData) => {
      for (let index = taken.length; index < output.keys.length; index += 1) await take(await readStagedChunk(this.env.STAGING, output, index));
      return pass.finish();
    };
    const recorded = async (): Promise<StagedData | null> => {
      if (!sawBegun) return null;
      const coordinator = this.env.PipelineCoordinator.getByName(task.settings.pipeline);
      return (await untilAborted(coordinator.extractOutput(task.runId, task.follow!.attempt) as Promise<StagedData | null>, signal)) as StagedData | null;
    };
    let sawBegun = false;
    let lost = false;
    for (;;) {
      signal.throwIfAborted();
      const news = (await untilAborted(extract.feedNext(task.follow!.attempt, generation, taken.length, lost ? LOST_FEED_RECHECK_MS : FEED_POLL_MS) as Promise<FeedNews>, signal)) as FeedNews;
      if (news.kind === "chunks" && news.begun) sawBegun = true;
      lost = sawBegun && news.kind === "chunks" && !news.begun;
      if (news.kind === "failed" || lost) {
        const output = await recorded();
        if (output) {
          startOver();
          return finishWith(output);
        }
      }
      if (news.kind === "failed") throw new StageFailure(`the extract it followed failed: ${news.reason}`, "transient");
      if (news.generation !== generation) {
        generation = news.generation;
        if (taken.length > 0) startOver();
      }
      if (news.kind === "chunks") {
        if (news.from !== taken.length) startOver();
        for (const chunk of news.chunks.slice(taken.length - news.from)) {
          await take(await readChunk(this.env.STAGING, chunk.key));
          taken.push(chunk);
        }
        continue;
      }
      const { output } = news;
      if (!taken.every((chunk, index) => output.keys[index] === chunk.key && output.counts[index] === chunk.count)) startOver();
      return finishWith(output);
    }
  }
}
