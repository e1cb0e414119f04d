import { Agent } from "agents";
import { classifyError, SourcesFailed, StageFailure } from "../../domain/failures";
import { logEvent } from "../../observability/log";
import type { StageCounts, StageReport } from "../../domain/stage-report";
import type { StageContext, StageOutcome, StageTask } from "./stage-task";

/**
 * After its reply, a stage waits for the coordinator to dismiss it (once the run has answered, off the
 * critical path); this alarm destroys it anyway if the coordinator never does.
 */
const LINGER_SECONDS = 60;
/** Progress reports are throttled: they are proof of life, not a stream. */
const PROGRESS_INTERVAL_MS = 250;

/**
 * An ephemeral stage agent: it lives for one stage (or one shard of a stage) of one run, named
 * `<pipeline>/<runId>:<stage>` (`…:<stage>:<shard>` past shard 0), replies to the coordinator that called
 * it, and once dismissed deletes itself and all of its storage.
 *
 * A retried attempt can arrive while an earlier, timed-out attempt is still running here (a stall, a
 * resumed run). The earlier one is told to stop and the new one waits until it has: two attempts never
 * work side by side. Each writes under its own attempt's keys, and the instance only destroys itself once
 * no attempt is left.
 */
export abstract class StageAgent extends Agent<Env> {
  private readonly attempts = new Map<number, { controller: AbortController; done: Promise<unknown> }>();
  /** Progress reports on their way to the coordinator: the instance is not destroyed under them. */
  private readonly sending = new Set<Promise<unknown>>();
  /** The coordinator has let it go (its run ended): nothing here is waited for any more. */
  private dismissed = false;

  protected abstract perform(task: StageTask, context: StageContext): Promise<StageReport>;

  /** Whether the instance has something to stay for once its attempts are done (see ExtractStage). */
  protected awaited(_now: number): boolean {
    return false;
  }

  async runStage(task: StageTask): Promise<StageOutcome> {
    // What this instance is working on, for anyone inspecting it mid-run; destroy() removes it with the rest.
    // `ahead` is 1 while an attempt follows the stage before it, ahead of its turn (see takenUp).
    this.sql`CREATE TABLE IF NOT EXISTS stage_task (run_id TEXT NOT NULL, stage TEXT NOT NULL, attempt INTEGER NOT NULL, started_at INTEGER NOT NULL, ahead INTEGER NOT NULL DEFAULT 0)`;
    // An agent of a run in flight across a deploy keeps the table of the version before `ahead`.
    if (this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM pragma_table_info('stage_task') WHERE name = 'ahead'`[0]!.n === 0) {
      this.sql`ALTER TABLE stage_task ADD COLUMN ahead INTEGER NOT NULL DEFAULT 0`;
    }
    this.sql`INSERT INTO stage_task (run_id, stage, attempt, started_at, ahead) VALUES (${task.runId}, ${task.stage}, ${task.attempt}, ${Date.now()}, ${task.follow ? 1 : 0})`;

    // The same attempt number again is a newer call too: a transform that followed extract and was stopped
    // (extract failed) is called again as the same first attempt once extract is retried.
    const earlier = [...this.attempts.entries()].filter(([attempt]) => attempt <= task.attempt).map(([, running]) => running);
    for (const running of earlier) running.controller.abort(new StageFailure(`superseded by attempt ${task.attempt}`));
    const controller = new AbortController();
    let settle!: () => void;
    const running = { controller, done: new Promise<void>((resolve) => (settle = resolve)) };
    this.attempts.set(task.attempt, running);
    let counts: StageCounts | undefined;
    const reporter = this.progressReporter(task, (latest) => {
      counts = latest;
    });

    try {
      await Promise.all(earlier.map((running) => running.done));
      controller.signal.throwIfAborted();
      const report = await this.perform(task, { signal: controller.signal, progress: reporter.report });
      return { ok: true, report };
    } catch (error) {
      if (controller.signal.aborted) {
        return { ok: false, error: describe(controller.signal.reason), transient: false, cancelled: true, counts };
      }
      const message = describe(error);
      const classified = classifyError(error);
      const transient = classified.kind === "transient";
      if (!(error instanceof StageFailure)) {
        logEvent("stage_error", { pipeline: task.settings.pipeline, runId: task.runId, stage: task.stage, shard: task.shard, attempt: task.attempt, error: message });
      }
      return { ok: false, error: message, transient, overloaded: classified.overloaded, counts, ...(error instanceof SourcesFailed ? { source: error.source } : {}) };
    } finally {
      // The reply carries the final counts: a report still held back by the interval is not sent.
      reporter.stop();
      settle();
      if (this.attempts.get(task.attempt) === running) this.attempts.delete(task.attempt);
      // Destroy from an alarm rather than here: destroy() aborts the object, which would cut off the reply.
      if (this.attempts.size === 0) await this.destroyIn(LINGER_SECONDS);
    }
  }

  /** The run's turn has come for an attempt that worked ahead of it: from here it is the stage's attempt proper. */
  protected takenUp(attempt: number): void {
    this.sql`UPDATE stage_task SET ahead = 0 WHERE attempt = ${attempt}`;
  }

  /** The coordinator no longer needs this agent (its run ended): destroy now, unless an attempt is running. */
  async dismiss(): Promise<void> {
    this.dismissed = true;
    if (this.attempts.size === 0) await this.destroyIn(0);
  }

  /** Asks a running attempt to stop at its next chunk boundary. */
  async cancelAttempt(attempt: number, reason: string): Promise<boolean> {
    const running = this.attempts.get(attempt);
    running?.controller.abort(new StageFailure(reason));
    return running !== undefined;
  }

  /**
   * A stage agent's only alarm is its own end. It is set on the storage directly, not through the SDK's
   * scheduler (a row, a scan of the schedule table and an alarm per call), which cost a small run a fifth of
   * its time; the SDK's own alarm handling has nothing to do here.
   */
  override async alarm(): Promise<void> {
    if (this.attempts.size > 0) return; // a newer attempt arrived; it sets its own when it ends
    if (!this.dismissed && this.awaited(Date.now())) {
      await this.destroyIn(LINGER_SECONDS);
      return;
    }
    // destroy() resets the object: a report still on its way would be cut off, and the runtime logs that.
    await Promise.allSettled([...this.sending]);
    if (this.attempts.size > 0) return;
    await this.destroy();
  }

  private async destroyIn(seconds: number): Promise<void> {
    await this.ctx.storage.setAlarm(Date.now() + seconds * 1_000);
  }

  /**
   * Sends progress at most every PROGRESS_INTERVAL_MS, and always the latest counts: a report held back
   * by the interval goes out when it ends, so a stage that pauses (a slow source) still shows where it is.
   */
  private progressReporter(task: StageTask, remember: (counts: StageCounts) => void): { report: (counts: StageCounts) => void; stop: () => void } {
    // Nothing in the first interval either: a small stage finishes before a report would matter.
    let lastSent = Date.now();
    let pending: StageCounts | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const send = (counts: StageCounts) => {
      lastSent = Date.now();
      pending = null;
      const sent = this.env.PipelineCoordinator.getByName(task.settings.pipeline)
        // A checks pass partition counts beside the transform's shards, never in place of one.
        .recordStageProgress(task.runId, task.stage, task.attempt, task.pass === "checks" ? -1 - task.shard : task.shard, counts, task.follow !== undefined)
        .catch(() => {
          // Progress is advisory; the final reply carries the real counts.
        });
      this.sending.add(sent);
      void sent.finally(() => this.sending.delete(sent));
    };
    return {
      report: (counts) => {
        remember(counts);
        if (stopped) return;
        const wait = PROGRESS_INTERVAL_MS - (Date.now() - lastSent);
        if (wait <= 0) {
          clearTimeout(timer);
          timer = undefined;
          send(counts);
          return;
        }
        pending = counts;
        timer ??= setTimeout(() => {
          timer = undefined;
          if (pending && !stopped) send(pending);
        }, wait);
      },
      stop: () => {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
