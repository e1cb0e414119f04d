import type { EventName } from "../../observability/events";
import { succeededSlots, type Backfill } from "../../domain/backfill";
import type { Run } from "../../domain/run";
import { deployment } from "../../pipelines";
import { upstreamNames } from "../../engine/triggers";

export interface NoticeHost {
  env: Env;
  pipeline(): string;
  log(event: EventName, runId: string, fields?: Record<string, unknown>): void;
  keepAliveWhile<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * What a pipeline's coordinator tells the pipelines downstream of it. A slot's run that succeeded: each
 * downstream scheduler looks at its waiting slots again at once (were this notice lost, it looks again
 * within a minute anyway, and every start is named after its slot, so a repeat starts nothing). A
 * cascading backfill that ended: each downstream in its closure is told which slots it ran.
 */
export class DownstreamNotices {
  constructor(private readonly host: NoticeHost) {}

  /**
   * A run of a pipeline whose slots wait for an upstream ended: the pipeline is free, so its own scheduler
   * looks at its held slots now rather than at its next recheck.
   */
  runEnded(run: Run): void {
    if (upstreamNames(deployment.find(this.host.pipeline())?.triggers).length === 0) return;
    void this.host.keepAliveWhile(async () => {
      try {
        await this.host.env.PipelineScheduler.getByName(this.host.pipeline()).checkWaiting();
      } catch (error) {
        this.host.log("upstream_notify_failed", run.runId, { downstream: this.host.pipeline(), error: String(error) });
      }
    });
  }

  /** Off the path of whoever waits for the run: the run has ended and stands whatever happens here. */
  slotSucceeded(run: Run): void {
    if (run.status !== "succeeded" || run.scheduledFor === null) return;
    const downstream = deployment.downstreamOf(this.host.pipeline());
    if (downstream.length === 0) return;
    const notice = { pipeline: this.host.pipeline(), slot: run.scheduledFor, runId: run.runId };
    void this.host.keepAliveWhile(async () => {
      await Promise.all(
        downstream.map(async (name) => {
          try {
            await this.host.env.PipelineScheduler.getByName(name).upstreamSucceeded(notice);
            this.host.log("upstream_notified", run.runId, { downstream: name });
          } catch (error) {
            this.host.log("upstream_notify_failed", run.runId, { downstream: name, error: String(error) });
          }
        }),
      );
    });
  }

  /** Tells the direct downstreams in the cascade's closure that `backfill` ended; true when all answered. */
  async cascadeEnded(backfill: Backfill): Promise<boolean> {
    const cascade = backfill.cascade!;
    const targets = deployment.downstreamOf(this.host.pipeline()).filter((name) => cascade.closure.includes(name));
    const report = { root: cascade.root, closure: cascade.closure, upstream: this.host.pipeline(), backfillId: backfill.backfillId, slots: succeededSlots(backfill) };
    const results = await Promise.allSettled(targets.map((name) => this.host.env.PipelineScheduler.getByName(name).cascadeReported(report)));
    let all = true;
    results.forEach((result, index) => {
      if (result.status === "fulfilled") return;
      all = false;
      this.host.log("cascade_notify_failed", backfill.backfillId, { downstream: targets[index], error: String(result.reason) });
    });
    return all;
  }
}
