import type { StageCounts } from "../../domain/stage-report";
import type { StageName } from "../../domain/stages";
import type { EventName } from "../../observability/events";
import { nextTry } from "../../domain/retry-policy";
import { checksDue, checksJudged, completeRun, giveUp, nextStep, stageAttemptFailed, stageFailed, stageStarted, stageSucceeded, stageTakenUp, type Run } from "../../domain/run";
import type { CheckReport } from "../../domain/check-results";
import type { PipelineSettings } from "../../engine/settings";
import type { RunStore } from "./run-store";
import { sleep, STOP_GRACE_MS, type StageDispatch } from "./stage-dispatch";
import { loadFollows, transformFollows } from "../../domain/overlap";
import { destinationKindOf } from "../../destinations";
import { Followers } from "./followers";

/** What the driver needs from the coordinator it works for. */
export interface DriverHost {
  store: RunStore;
  dispatch: StageDispatch;
  /** Closes a run: saves it, alerts, cleans up. */
  finish(run: Run, settings: PipelineSettings): Promise<unknown>;
  /** A stage attempt is about to start (live progress counts start again). */
  stageStarting(runId: string): void;
  log(event: EventName, runId: string, fields?: Record<string, unknown>): void;
  /** A stage's shards are done and a checks pass follows: the run shows the shards' final counts meanwhile. */
  shardsDone(runId: string, stage: StageName, counts: StageCounts): void;
  /** A run its checks blocked: its rejected records written (no row of it is), before it is closed. */
  saveBlockedRejections(run: Run): Promise<number>;
  /** The run's dataset checks judged (between transform and load), or null when the pipeline has none. */
  judgeChecks(run: Run): CheckReport | null;
  /** A load started beside transform, writing into the destination's staging: dropped when the run ends, whatever happens. */
  loadFollowing(runId: string, settings: PipelineSettings): void;
  /** Keeps the Durable Object alive while the promise is pending (the Agents SDK's keepAliveWhile). */
  keepAliveWhile<T>(work: () => Promise<T>): Promise<T>;
}

/** One in-memory driver of a run. A newer generation (after a stall or a cancel) silences older ones. */
interface Driver {
  generation: number;
  controller: AbortController;
  done: Promise<void>;
  followers: Followers;
  /**
   * A load that may follow the transform at work, started once that transform has staged its first chunk
   * of rows (heard in its progress): a run too small for a chunk never wakes a load agent early.
   */
  loadReady: { transformAttempt: number; rows: number; start: () => void } | null;
}

/**
 * Moves runs forward stage by stage, saving after every transition (the checkpoint a resumed run starts
 * from). Each run has at most one live driver; stopping a driver silences it before anything else writes.
 */
export class RunDriver {
  private readonly drivers = new Map<string, Driver>();
  private generations = 0;

  constructor(private readonly host: DriverHost) {}

  isDriving(runId: string): boolean {
    return this.drivers.has(runId);
  }

  launch(runId: string): void {
    if (this.drivers.has(runId)) return;
    const generation = ++this.generations;
    const controller = new AbortController();
    const driver: Driver = { generation, controller, done: Promise.resolve(), followers: new Followers(), loadReady: null };
    this.drivers.set(runId, driver);
    driver.done = this.host
      .keepAliveWhile(() => this.drive(runId, driver))
      .catch((error: unknown) => this.failUnexpectedly(runId, generation, error))
      .finally(() => {
        if (this.drivers.get(runId)?.generation === generation) this.drivers.delete(runId);
      });
  }

  /** A stage attempt's progress: a transform that has staged a chunk of rows may have a load follow it now. */
  heard(runId: string, stage: StageName, attempt: number, counts: StageCounts): void {
    const driver = this.drivers.get(runId);
    const ready = driver?.loadReady;
    if (!ready || stage !== "transform" || attempt !== ready.transformAttempt || counts.outputCount < ready.rows) return;
    driver!.loadReady = null;
    ready.start();
  }

  /** Silences the run's current driver and waits (briefly) for its stage attempt to stop. */
  async stop(runId: string, reason: string): Promise<void> {
    const driver = this.drivers.get(runId);
    if (!driver) return;
    this.drivers.delete(runId);
    driver.controller.abort(new Error(reason));
    await Promise.race([driver.done, sleep(STOP_GRACE_MS + 1_000)]);
  }

  private isCurrent(runId: string, generation: number): boolean {
    return this.drivers.get(runId)?.generation === generation;
  }

  private async drive(runId: string, driver: Driver): Promise<void> {
    try {
      await this.driveSteps(runId, driver);
    } finally {
      driver.loadReady = null;
      await driver.followers.stopAll("the run went on without it");
    }
  }

  private async driveSteps(runId: string, driver: Driver): Promise<void> {
    const { store, dispatch } = this.host;
    const { generation, followers } = driver;
    const signal = driver.controller.signal;
    for (;;) {
      if (!this.isCurrent(runId, generation)) return;
      const stored = store.load(runId);
      if (!stored) return;
      const { run, settings } = stored;
      const step = nextStep(run);
      if (step.kind === "none") return;

      if (checksDue(run)) {
        const report = this.host.judgeChecks(run);
        if (report) {
          if (report.blocked) {
            // Before the run says it is blocked: a crash in between judges again and writes the same rows.
            await this.host.saveBlockedRejections(run).catch((error: unknown) => this.host.log("blocked_rejections_unsaved", runId, { error: String(error) }));
            if (!this.isCurrent(runId, generation)) return;
          }
          const judged = checksJudged(run, report, Date.now());
          // A load that followed transform holds the rows aside; a blocked run drops them with it.
          if (judged.status !== "running") await followers.stopAll("the dataset checks blocked the run");
          store.save(judged, settings);
          const failed = report.results.filter((result) => result.outcome === "failed").map((result) => result.name);
          this.host.log("checks_judged", runId, { blocked: report.blocked, failed, accepted: report.results.filter((result) => result.accepted).map((result) => result.name) });
          if (judged.status !== "running") {
            await this.host.finish(judged, settings);
            return;
          }
          continue;
        }
      }

      if (step.kind === "complete") {
        await this.host.finish(completeRun(run, Date.now()), settings);
        return;
      }

      const started = stageStarted(run, step.stage, Date.now());
      store.save(started, settings);
      this.host.stageStarting(runId);
      const attempt = started.stages.find((stage) => stage.name === step.stage)!.attempts;
      this.host.log("stage_started", runId, { stage: step.stage, attempt });
      const call = { runId, trigger: run.trigger, scheduledFor: run.scheduledFor, asOf: run.asOf, params: run.params, stage: step.stage, attempt, settings, watermark: run.inputWatermark ?? null, reread: run.reread ?? false };
      const shardsDone = (stage: StageName) => (report: { inputCount: number; outputCount: number; rejectedCount: number }) => {
        if (this.isCurrent(runId, generation)) this.host.shardsDone(runId, stage, { inputCount: report.inputCount, outputCount: report.outputCount, rejectedCount: report.rejectedCount });
      };
      driver.loadReady = null;
      const waiting = followers.take(step.stage);
      const followed = waiting?.attempt === attempt ? waiting : null;
      if (waiting && !followed) await waiting.stop("the run went on without it");
      // A load that followed transform is handed its input first: lost with its agent, it is stopped and
      // the load runs in its turn as the same attempt, its time ahead never counted.
      const takenUp = followed !== null && (followed.stage !== "load" || (await dispatch.proceed(followed, call, step.input)));
      if (takenUp) {
        const saved = stageTakenUp(started, step.stage, followed.startedAt);
        store.save(saved, settings);
        this.host.log("stage_followed", runId, { stage: step.stage, attempt, aheadMs: saved.stages.find((stage) => stage.name === step.stage)!.aheadMs });
      }
      else if (step.stage === "extract" && transformFollows(started, settings, attempt)) {
        followers.add(dispatch.follow({ ...call, stage: "transform", attempt: 1 }, attempt, signal, shardsDone("transform")));
      }
      // Load beside the transform at work (beside extract or in its own turn), once it has staged a chunk.
      const transformAttempt = step.stage === "transform" ? attempt : followers.has("transform") ? 1 : null;
      if (transformAttempt !== null && !followers.has("load") && loadFollows(started, settings, transformAttempt, destinationKindOf(settings.destination).staging !== undefined)) {
        driver.loadReady = {
          transformAttempt,
          rows: settings.chunkRecords,
          start: () => {
            if (!this.isCurrent(runId, generation) || followers.has("load")) return;
            this.host.loadFollowing(runId, settings);
            followers.add(dispatch.follow({ ...call, stage: "load", attempt: 1 }, transformAttempt, signal));
            this.host.log("stage_following", runId, { stage: "load", follows: "transform", attempt: transformAttempt });
          },
        };
      }
      const outcome = takenUp ? await followed.outcome : await dispatch.run(call, step.input, signal, shardsDone(step.stage));
      if (!outcome.ok) {
        // What followed this attempt worked on data that will not stand.
        driver.loadReady = null;
        await followers.stopAll(`the ${step.stage} it followed failed`);
      }
      // Checked after the follower's stop, which waits: a cancel or a newer driver may have come meanwhile.
      if (!this.isCurrent(runId, generation)) return;
      const current = store.load(runId)!.run;

      if (outcome.ok) {
        store.save(stageSucceeded(current, step.stage, outcome.report, Date.now()), settings);
        this.host.log("stage_succeeded", runId, { stage: step.stage, attempt, outputCount: outcome.report.outputCount });
        const contract = outcome.report.contract;
        // Once per run: transform succeeds once (a retry that reuses it does not run it again).
        if (contract && contract.fields.length > 0) {
          this.host.log("contract_new_fields", runId, { unknownFields: contract.unknownFields, declared: contract.declared, records: contract.records, fields: contract.fields, truncated: contract.truncated });
        }
        continue;
      }
      const next = nextTry(settings.retry.stage, attempt, { retryable: outcome.transient, overloaded: outcome.overloaded ?? false });
      if (next.again) {
        this.host.log("stage_retrying", runId, { stage: step.stage, attempt, error: outcome.error, delayMs: next.delayMs });
        store.save(stageAttemptFailed(current, step.stage, outcome.error, Date.now()), settings);
        await sleep(next.delayMs, signal);
        continue;
      }
      this.host.log("stage_failed", runId, { stage: step.stage, attempt, error: outcome.error, transient: outcome.transient });
      await this.host.finish(stageFailed(current, step.stage, outcome.error, Date.now(), outcome.source), settings);
      return;
    }
  }

  /** A bug in the driver must not leave a run "running" forever: fail it where it stood. */
  private async failUnexpectedly(runId: string, generation: number, error: unknown): Promise<void> {
    this.host.log("driver_error", runId, { error: String(error), stack: error instanceof Error ? error.stack : undefined });
    if (!this.isCurrent(runId, generation)) return;
    const stored = this.host.store.load(runId);
    if (!stored || stored.run.status !== "running") return;
    await this.host.finish(giveUp(stored.run, `internal error: ${String(error)}`, Date.now()), stored.settings);
  }
}
