import { Agent } from "agents";
import { destinationKindOf } from "../destinations";
import { sourceKindOf } from "../sources";
import { deleteRejectionsOfRuns, pageRejections } from "../db/rejections";
import type { HistoryCursor } from "../domain/history";
import { cancelRun, giveUp, loadWasStarted, runResumed, skipRun, stageProgressed, startRun, withRowsWritten, type Run, type RunParams } from "../domain/run";
import { admitRun } from "../domain/admission";
import { extractOutputOf } from "../domain/overlap";
import type { StagedData } from "../domain/staged-data";
import type { Backfill, BackfillSummary } from "../domain/backfill";
import { checkRetryable, markRetried } from "../domain/retry";
import { retryAsAsked } from "./coordinator/retry-request";
import type { SlotRecord } from "../domain/slot-ledger";
import { checkParams, defaultParams } from "../engine/params";
import { deployment } from "../pipelines";
import { resolveSettings } from "../engine/settings";
import { DEFAULT_TUNING } from "../engine/tuning";
import { toRunView, type RunSummary, type RunView } from "../domain/run-view";
import type { StageCounts } from "../domain/stage-report";
import { judgeStall } from "../domain/stall";
import { computeStats } from "../domain/stats";
import { runKey, type StageName } from "../domain/stages";
import type { PipelineSettings } from "../engine/settings";
import { logEvent } from "../observability/log";
import { RUN_END_EVENTS, type EventName } from "../observability/events";
import { RunAlerts, type AlertPayload } from "./coordinator/run-alerts";
import { RunWaiters } from "./coordinator/run-waiters";
import { ShardProgress } from "./coordinator/shard-progress";
import { BackfillRunner, type BackfillCancel, type BackfillRequest, type BackfillStart } from "./coordinator/backfill-runner";
import { BackfillStore } from "./coordinator/backfill-store";
import { RunDriver } from "./coordinator/run-driver";
import { RunStore, type HistoryPage, type Sql } from "./coordinator/run-store";
import { StageDispatch } from "./coordinator/stage-dispatch";
import { StagingRetention } from "./coordinator/staging-retention";
import { StagedLoads } from "./coordinator/staged-loads";
import { DownstreamNotices } from "./coordinator/downstream-notices";
import { judgeChecks } from "./coordinator/run-checks";
import { saveBlockedRejections } from "./coordinator/blocked-rejections";
import { checkHistory, type ChecksView } from "../domain/check-history";
import { resolveChecks } from "../engine/checks";
import { adoptCurrent, definitionNow } from "./coordinator/run-definitions";
import type { CancelResult, RejectedPage, RejectedRecord, RetryOptions, RetryResult, StartRunRequest, StartRunResult } from "./coordinator/requests";

export type { CancelResult, HistoryPage, RejectedPage, RejectedRecord, RetryResult, StartRunRequest, StartRunResult };

const WATCHDOG = "watchdog";
const NEXT_RUN = "startNextRun";
const ALERT_CALLBACK = "deliverAlert";
const BACKFILL_ALERT_CALLBACK = "deliverBackfillAlert";
/** A finished run's stage agents and staged data are cleaned up this long after it answers. */
export const CLEANUP_DELAY_MS = 250;
/**
 * How long a run that ends in load waits for its stopped load attempts to answer before counting what it
 * wrote: a D1 call ends within 30 s, and a stopped attempt stops after the batch it is sending.
 */
const WRITES_SETTLE_MS = 35_000;

/**
 * Runs a pipeline's stages and keeps its run history: one instance per pipeline, named after it. This
 * class is the RPC surface; the parts have names: the run store (its SQLite), the driver (stage by stage,
 * checkpointed), stage dispatch (calling the stage agents), run alerts, the backfill runner (what runs
 * next when the pipeline is free), staging retention (kept for retries), waiters and live progress.
 *
 * Crash safety: every transition is saved before the next stage starts, with the staged output of every
 * finished stage. A run marked running that no driver in this instance is driving was interrupted; it is
 * resumed on the next wake-up (any request, the Worker's hourly cron, or this agent's watchdog alarm), at
 * most `maxResumes` times. Stages are keyed by run id and load is an upsert, so a resumed run never
 * duplicates rows.
 */
export class PipelineCoordinator extends Agent<Env> {
  private readonly store = new RunStore(this.sql.bind(this) as unknown as Sql);
  private readonly dispatch = new StageDispatch(this.env);
  private readonly driver = new RunDriver({
    store: this.store,
    dispatch: this.dispatch,
    finish: (run, settings) => this.finishRun(run, settings),
    stageStarting: (runId) => this.progress.reset(runId),
    judgeChecks: (run) => judgeChecks(run, this.store, Date.now()),
    saveBlockedRejections: (run) => saveBlockedRejections(this.env, run, Date.now()),
    shardsDone: (runId, stage, counts) => {
      const stored = this.store.load(runId);
      // A stage following the current one (transform beside extract) is not the one counting yet.
      if (stored?.run.status !== "running" || stored.run.currentStage !== stage) return;
      this.progress.reset(runId);
      this.progress.record(runId, 0, counts);
      this.store.save(stageProgressed(stored.run, stage, counts, Date.now()), stored.settings);
    },
    loadFollowing: (runId, settings) => this.stagedLoads.mark(runId, settings),
    log: (event, runId, fields) => this.log(event, runId, fields),
    keepAliveWhile: (work) => this.keepAliveWhile(work),
  });
  private readonly stagedLoads = new StagedLoads({ env: this.env, sql: this.sql.bind(this) as unknown as Sql, log: (event, runId, fields) => this.log(event, runId, fields) });
  private readonly backfills = new BackfillStore(this.sql.bind(this) as unknown as Sql);
  private readonly retention = new StagingRetention({
    env: this.env,
    store: this.store,
    pipeline: () => this.name,
    log: (event, runId, fields) => this.log(event, runId, fields),
  });
  private readonly notices = new DownstreamNotices({
    env: this.env,
    pipeline: () => this.name,
    log: (event, runId, fields) => this.log(event, runId, fields),
    keepAliveWhile: (work) => this.keepAliveWhile(work),
  });
  private readonly runner = new BackfillRunner({
    store: this.store,
    backfills: this.backfills,
    pipeline: () => this.name,
    settings: () => this.currentSettings(),
    startRun: (request) => this.startRun(request),
    alertBackfill: async (backfillId) => {
      if (!this.env.ALERT_WEBHOOK_URL) return false;
      await this.schedule(0, BACKFILL_ALERT_CALLBACK, { backfillId }, { retry: { maxAttempts: 1 } });
      return true;
    },
    cascadeEnded: (backfill) => this.notices.cascadeEnded(backfill),
    log: (event, id, fields) => logEvent(event, { pipeline: this.name, id, ...fields }),
  });
  private readonly alerts = new RunAlerts({ env: this.env, store: this.store, pipeline: () => this.name, log: (event, runId, fields) => this.log(event, runId, fields) });
  private readonly waiters = new RunWaiters();
  private readonly progress = new ShardProgress();

  override async onStart(): Promise<void> {
    this.store.migrate();
    this.backfills.migrate();
    this.stagedLoads.migrate();
    // A fresh instance drives nothing, so any run still marked running was interrupted.
    for (const runId of this.store.activeRunIds()) this.resumeOrphan(runId);
    void this.retention.sweep(Date.now());
    // A cascade notice a restart interrupted goes out now, not at the next watchdog.
    void this.keepAliveWhile(() => this.runner.handOnOwed());
  }

  async startRun(request: StartRunRequest): Promise<StartRunResult> {
    // No await between the checks and the insert: the Durable Object runs this turn alone, which is what
    // makes "one active run" and "one run per id" hold under concurrent triggers.
    const existing = this.store.load(request.runId);
    const activeId = this.store.activeRunIds()[0];
    const active = activeId === undefined ? null : this.store.load(activeId)!.run;
    const now = Date.now();
    const fresh = {
      runId: request.runId,
      pipeline: this.name,
      trigger: request.trigger,
      scheduledFor: request.scheduledFor,
      note: request.note ?? null,
      params: request.params ?? this.defaultParams(),
      backfillId: request.backfillId ?? null,
      reread: request.reread,
      ...(request.lineage ? { lineage: request.lineage } : {}),
      timezone: request.settings.schedule.timezone,
      destination: request.settings.destination.uri,
      now,
    };
    const slotRun = request.scheduledFor === null ? null : (this.store.slotRecords(request.scheduledFor, request.scheduledFor + 1)[0]?.executed ?? null);
    const slotCovered = slotRun !== null && (slotRun.status === "running" || slotRun.status === "succeeded");
    switch (admitRun(request, { exists: existing !== null, slotCovered, active, backfillActive: this.runner.isActive() })) {
      case "exists":
        return { outcome: "exists", run: toRunView(existing!.run) };
      case "covered":
        this.log("slot_covered", request.runId, { by: slotRun!.runId });
        return { outcome: "covered", runId: slotRun!.runId };
      case "refuse":
        return { outcome: "conflict", active: toRunView(active!) };
      case "queue":
        this.store.enqueue(request.runId, request.scheduledFor!, now, request.settings.schedule.timezone, request.lineage ? { trigger: request.trigger === "upstream" ? "upstream" : "scheduled", lineage: request.lineage } : null);
        this.log("run_queued", request.runId, { activeRunId: activeId });
        return { outcome: "queued", runId: request.runId };
      case "skip": {
        const skipped = skipRun({ ...fresh, reason: `run ${activeId} was still active` });
        this.store.save(skipped, request.settings);
        this.log("run_skipped", skipped.runId, { activeRunId: activeId });
        await this.prune(request.settings);
        return { outcome: "skipped", run: toRunView(skipped) };
      }
      case "start": {
        const started = startRun({ ...fresh, definition: definitionNow(this.env, this.name, request.settings) });
        // A backfill run reads its slot's data, not what is new since the last run: no watermark is sent.
        const run = { ...started, inputWatermark: request.settings.watermark && started.incremental ? this.store.watermark() : null };
        return { outcome: "started", run: await this.launch(run, request.settings, request.waitMs) };
      }
    }
  }

  /**
   * Retries a failed or cancelled run as a new run, from the stage that failed: the stages before it are
   * taken from the original's staged output (the source is not read again), as long as it is kept.
   */
  async retryRun(runId: string, options: RetryOptions = {}): Promise<RetryResult> {
    const stored = this.store.load(runId);
    if (!stored) return { outcome: "not_found" };
    const check = checkRetryable(stored.run);
    if (!check.ok) return { outcome: "not_retryable", run: toRunView(stored.run), reason: check.reason };
    const active = this.store.activeRunIds()[0];
    if (active !== undefined) return { outcome: "conflict", active: toRunView(this.store.load(active)!.run) };
    // The pipeline as it is defined now (a retry is often what follows a fix), with the original's slot
    // read in the original's time zone, and its params checked against today's schema.
    const resolved = this.currentSettings();
    if (!resolved.ok) return { outcome: "misconfigured", errors: resolved.errors };
    const settings = { ...resolved.settings, schedule: { ...resolved.settings.schedule, timezone: stored.settings.schedule.timezone } };
    const params = checkParams(deployment.find(this.name)!, stored.run.params);
    if (!params.ok) {
      const problems = params.problems.map((problem) => `${problem.field}: ${problem.message}`).join("; ");
      return { outcome: "not_retryable", run: toRunView(stored.run), reason: `run ${runId}'s params no longer fit the pipeline (${problems}); trigger a new run with params that do` };
    }
    const now = Date.now();
    const asked = retryAsAsked(stored, { settings, params: params.params, definition: definitionNow(this.env, this.name, settings), at: now }, options, {
      stagingKept: (owner) => this.store.stagingKept(owner).kept,
      stagingGone: (owner) => this.retention.gone(owner),
      succeededSince: (startTime) => this.store.succeededSince(startTime),
    });
    if ("refused" in asked) return asked.refused;
    const { retry } = asked;
    this.store.save(markRetried(stored.run, retry.runId), stored.settings);
    this.log("run_retrying", retry.runId, { of: runId, fromStage: retry.retry!.fromStage, reused: retry.retry!.reused, note: retry.retry!.note });
    return { outcome: "started", run: await this.launch(retry, settings, options.waitMs) };
  }

  /** Records a backfill (the scheduler worked out its slots) and starts its first run when the pipeline is free. */
  async startBackfill(request: BackfillRequest): Promise<BackfillStart> {
    return this.runner.begin(request, Date.now());
  }

  async cancelBackfill(backfillId: string): Promise<BackfillCancel> {
    return this.runner.cancel(backfillId, Date.now());
  }

  async getBackfill(backfillId: string): Promise<Backfill | null> {
    return this.backfills.load(backfillId);
  }

  /** The newest backfills first, in brief. */
  async listBackfills(limit: number): Promise<BackfillSummary[]> {
    return this.backfills.recent(limit);
  }

  /** What became of the slots in [from, to) that runs belonged to; the scheduler makes the ledger of them. */
  async getSlotRecords(from: number, to: number, limit?: number): Promise<{ records: SlotRecord[]; queued: number[] }> {
    return { records: this.store.slotRecords(from, to, limit), queued: this.store.queuedSlots() };
  }

  /** From an alarm: starts what waits for the pipeline to be free (a queued slot, the backfill's next run). */
  async startNextRun(): Promise<void> {
    await this.runner.next();
  }

  /** From an alarm: posts a run's alert and records the outcome on the run; the run's status stands. */
  async deliverAlert(payload: AlertPayload): Promise<void> {
    await this.alerts.deliver(payload);
  }

  /** From an alarm: posts the alert of a backfill that ended with failed slots. */
  async deliverBackfillAlert(payload: { backfillId: string }): Promise<void> {
    const settings = this.currentSettings();
    await this.alerts.deliverBackfill(payload.backfillId, this.backfills, settings.ok ? settings.settings.retry.alerts : DEFAULT_TUNING.retries.alerts);
  }

  /** A scheduled slot the scheduler decided not to run (missed-run policy): recorded, so history shows it. */
  async recordSkippedSlot(slot: { runId: string; scheduledFor: number; reason: string; settings: PipelineSettings }): Promise<void> {
    if (this.store.load(slot.runId)) return;
    const skipped = skipRun({ runId: slot.runId, pipeline: this.name, trigger: "scheduled", scheduledFor: slot.scheduledFor, timezone: slot.settings.schedule.timezone, destination: slot.settings.destination.uri, now: Date.now(), reason: slot.reason });
    this.store.save(skipped, slot.settings);
    this.log("run_skipped", slot.runId, { reason: slot.reason });
  }

  /** Resolves when the run has finished, or with its current state after `timeoutMs`. */
  async waitForRun(runId: string, timeoutMs: number): Promise<RunView | null> {
    const stored = this.store.load(runId);
    if (!stored) return null;
    if (stored.run.status !== "running") return toRunView(stored.run);
    return this.waiters.wait(runId, timeoutMs, () => toRunView(this.store.load(runId)!.run));
  }

  /** Stops an active run between chunks or stages; what it had done so far stays in the run. */
  async cancelRun(runId: string, reason: string): Promise<CancelResult> {
    const stored = this.store.load(runId);
    if (!stored) return { outcome: "not_found" };
    if (stored.run.status !== "running") return { outcome: "not_active", run: toRunView(stored.run) };
    this.log("run_cancelling", runId, { reason });
    await this.driver.stop(runId, `run cancelled: ${reason}`);
    const latest = this.store.load(runId)!;
    if (latest.run.status !== "running") return { outcome: "not_active", run: toRunView(latest.run) };
    const cancelled = await this.finishRun(cancelRun(latest.run, reason, Date.now()), latest.settings);
    return { outcome: "cancelled", run: toRunView(cancelled) };
  }

  /**
   * Live counts from a stage agent at work (only from the attempt the run is waiting for). A `followed`
   * attempt's counts (it started beside the stage before it) only once the run has taken it up: a stopped
   * follower's last report must not count toward a later attempt of the same number.
   */
  async recordStageProgress(runId: string, stage: StageName, attempt: number, shard: number, counts: StageCounts, followed = false): Promise<void> {
    if (shard === 0) this.driver.heard(runId, stage, attempt, counts);
    const stored = this.store.load(runId);
    if (!stored || stored.run.status !== "running" || stored.run.currentStage !== stage) return;
    const current = stored.run.stages.find((candidate) => candidate.name === stage);
    if (current?.attempts !== attempt || (followed && current.aheadMs === undefined)) return;
    const total = this.progress.record(runId, shard, counts);
    this.store.save(stageProgressed(stored.run, stage, total, Date.now()), stored.settings);
  }

  /** What extract attempt `attempt` of the run staged, once recorded as succeeded (see extractOutputOf). */
  async extractOutput(runId: string, attempt: number): Promise<StagedData | null> {
    const stored = this.store.load(runId);
    return stored ? extractOutputOf(stored.run, attempt) : null;
  }

  /** The newest watermark value loaded by a successful run: where the next incremental read starts. */
  async getWatermark(): Promise<string | null> {
    return this.store.watermark();
  }

  /**
   * The stall detector, run from this agent's own alarm and from the Worker's hourly cron: resumes runs
   * nobody drives or that made no progress for too long, and fails those resumed too often.
   */
  async watchdog(): Promise<void> {
    let settings: PipelineSettings | undefined;
    for (const runId of this.store.activeRunIds()) {
      const stored = this.store.load(runId)!;
      settings = stored.settings;
      if (!this.driver.isDriving(runId)) {
        this.resumeOrphan(runId);
        continue;
      }
      const verdict = judgeStall(stored.run, Date.now(), stored.settings.stall);
      if (verdict.kind === "healthy") continue;
      this.log("run_stalled", runId, { verdict: verdict.kind, lastProgressAt: stored.run.lastProgressAt });
      await this.driver.stop(runId, "stalled");
      const latest = this.store.load(runId)!;
      if (latest.run.status !== "running") continue;
      if (verdict.kind === "give-up") {
        await this.finishRun(giveUp(latest.run, verdict.reason, Date.now()), latest.settings);
      } else {
        this.store.save(runResumed(latest.run, Date.now()), latest.settings);
        this.driver.launch(runId);
      }
    }
    if (settings && this.store.activeRunIds().length > 0) await this.armWatchdog(settings);
    // Hourly (from the Worker's cron) at least: nothing waits forever, and kept staging expires.
    if (this.store.activeRunIds().length === 0 && this.runner.hasWork()) await this.scheduleNext();
    await this.runner.handOnOwed();
    await this.retention.sweep(Date.now());
    await this.dropStagedLoads();
    this.store.pruneSlotRecords();
  }

  async getRun(runId: string): Promise<RunView | null> {
    const stored = this.store.load(runId);
    return stored ? toRunView(stored.run) : null;
  }

  /** `getRun` as JSON text, for the API: no parsing or copying of the run on the way out. */
  async getRunJson(runId: string): Promise<string | null> {
    return this.store.runJson(runId);
  }

  /** The most recent run that executed and finished (succeeded, failed or cancelled), or null. */
  async getLastRun(): Promise<RunView | null> {
    return this.store.lastFinished();
  }

  /** `getLastRun` as JSON text ("null" before any run). */
  async getLastRunJson(): Promise<string> {
    return this.store.lastFinishedJson();
  }

  /** The last finished run in brief, for the pipelines list. */
  async getLastRunSummary(): Promise<RunSummary | null> {
    return this.store.lastFinishedSummary();
  }

  async getHistory(limit: number, cursor: HistoryCursor | null): Promise<HistoryPage> {
    return this.store.history(limit, cursor);
  }

  /** The history page as the API answers it, as JSON text. */
  async getHistoryJson(limit: number, cursor: HistoryCursor | null): Promise<string> {
    return this.store.historyJson(limit, cursor);
  }

  /** A page of a run's rejected records, from D1, in position order. */
  async listRejected(runId: string, afterPosition: number, limit: number): Promise<RejectedPage> {
    if (!this.store.load(runId)) return { found: false };
    const rows = await pageRejections(this.env.DB, this.name, runId, afterPosition, limit + 1);
    const records = rows.slice(0, limit).map((row) => ({ position: row.position, id: row.record_id, stage: row.stage, reason: row.reason, raw: row.raw }));
    return { found: true, records, nextPosition: rows.length > limit ? (records.at(-1)?.position ?? null) : null };
  }

  /** Stats over the runs that started in the last `windowMs` (all runs for null), as JSON text. */
  async getStatsJson(windowMs: number | null): Promise<string> {
    const from = windowMs === null ? null : Date.now() - windowMs;
    const label = windowMs === null ? "all" : `${Math.round(windowMs / 86_400_000)}d`;
    return JSON.stringify(computeStats(this.store.statsPoints(from ?? 0), label, from));
  }

  /** Each check the pipeline declares (or the one named), with its newest results across runs, at most `limit` each. */
  async getCheckHistory(limit: number, only: string | null): Promise<ChecksView> {
    const declared = resolveChecks(deployment.find(this.name)?.checks)
      .filter((check) => only === null || check.name === only)
      .map((check) => ({ name: check.name, type: check.type, severity: check.severity }));
    return checkHistory(this.name, declared, this.store.checkResults(declared.map((check) => check.name), limit), limit);
  }

  private resumeOrphan(runId: string): void {
    const stored = this.store.load(runId);
    if (!stored || stored.run.status !== "running" || this.driver.isDriving(runId)) return;
    const { maxResumes } = stored.settings.stall;
    if (stored.run.resumes >= maxResumes) {
      const reason = `interrupted again after ${stored.run.resumes} resume${stored.run.resumes === 1 ? "" : "s"} (limit ${maxResumes})`;
      void this.finishRun(giveUp(stored.run, reason, Date.now()), stored.settings);
      return;
    }
    const adopted = adoptCurrent(this.env, stored.run, stored.settings, () => this.currentSettings(), Date.now());
    if ("reason" in adopted) {
      void this.finishRun(giveUp(stored.run, adopted.reason, Date.now()), stored.settings);
      return;
    }
    const change = adopted.run.definition?.changes.at(-1);
    if (change && change !== stored.run.definition?.changes.at(-1)) this.log("definition_changed", runId, { from: change.from, to: change.to, restartedFrom: change.restartedFrom });
    this.log("run_resumed", runId, { resumes: stored.run.resumes + 1, stage: adopted.run.currentStage });
    this.store.save(runResumed(adopted.run, Date.now()), adopted.settings);
    this.driver.launch(runId);
    void this.armWatchdog(adopted.settings);
  }

  private async armWatchdog(settings: PipelineSettings): Promise<void> {
    const nowSeconds = Date.now() / 1000;
    const pending = (await this.listSchedules()).some((schedule) => schedule.callback === WATCHDOG && schedule.time > nowSeconds);
    if (!pending) await this.schedule(Math.max(1, Math.ceil(settings.watchdogIntervalMs / 1000)), WATCHDOG);
  }

  /**
   * Closes a run: saved (with a pending alert if it warrants one), the watermark moved forward on success,
   * waiters answered; then, off the path of whoever waits for it, the alert sent from an alarm, the stage
   * agents dismissed, the staged objects deleted and the history pruned.
   */
  private async finishRun(ended: Run, settings: PipelineSettings): Promise<Run> {
    const finished = loadWasStarted(ended) ? await this.countWritten(ended, settings) : ended;
    if (finished.status === "succeeded") await this.commitSource(finished, settings);
    const { run, alerts } = this.alerts.raise(finished);
    this.store.save(run, settings);
    this.progress.reset(run.runId);
    if (run.status === "succeeded" && run.incremental && run.newestWatermark !== null) this.store.advanceWatermark(run.newestWatermark);
    const view = toRunView(run);
    this.waiters.ended(view);
    this.log(RUN_END_EVENTS[run.status as keyof typeof RUN_END_EVENTS], run.runId, {
      durationMs: view.totalDuration,
      recordCount: run.finalResult?.recordCount ?? 0,
      accounting: view.accounting,
      resumes: run.resumes,
      error: run.error,
      stages: run.stages.map((stage) => ({ name: stage.name, status: stage.status, durationMs: stage.durationMs, attempts: stage.attempts, inputCount: stage.inputCount, outputCount: stage.outputCount, rejectedCount: stage.rejectedCount })),
    });
    // Sent from an alarm: the alert survives a restart, and its outcome never touches the run's.
    for (const alert of alerts) await this.schedule(0, ALERT_CALLBACK, alert, { retry: { maxAttempts: 1 } });
    const removeStaging = this.retention.runEnded(run, settings);
    this.notices.slotSucceeded(run);
    this.notices.runEnded(run);
    await this.runner.runEnded(run);
    if (this.runner.hasWork()) await this.scheduleNext();
    await this.prune(settings);
    // The stage agents and the staged objects wait until the answer is out: on one machine they would share
    // its thread. If the instance goes first, nothing is lost: the stage agents' own alarms destroy them,
    // and the next wake-up's sweep removes the staged data.
    setTimeout(() => void this.keepAliveWhile(() => this.cleanUp(run.runId, removeStaging)), CLEANUP_DELAY_MS);
    return run;
  }

  /** A run that ended in or after load, with the rows it wrote as the table counts them (see withRowsWritten). */
  private async countWritten(run: Run, settings: PipelineSettings): Promise<Run> {
    const settled = await this.dispatch.settled(runKey(this.name, run.runId), WRITES_SETTLE_MS);
    if (!settled) this.log("load_still_writing", run.runId, { waitedMs: WRITES_SETTLE_MS });
    try {
      const rows = await destinationKindOf(settings.destination).rowsOfRun(settings.destination, { env: this.env as unknown as Record<string, unknown>, pipeline: this.name, runId: run.runId });
      return withRowsWritten(run, rows);
    } catch (error) {
      // The destination cannot answer (often why the run failed): the last progress report stands.
      this.log("rows_uncounted", run.runId, { error: String(error) });
      return run;
    }
  }

  /**
   * A run succeeded: what its source read counts as read (an object source's ledger), with what the runs
   * whose extract output it reused read. Should this fail, the next run reads those objects again, which
   * the destination's upsert on the key makes harmless; the run stands.
   */
  private async commitSource(run: Run, settings: PipelineSettings): Promise<void> {
    const source = run.source?.served ? settings.sources.find((candidate) => candidate.name === run.source!.name) : undefined;
    const kind = source ? sourceKindOf(source) : undefined;
    if (!source || !kind?.commit) return;
    const runIds = [...new Set([run.runId, ...run.stages.flatMap((stage) => (stage.reusedFrom ? [stage.reusedFrom] : []))])];
    try {
      await kind.commit(source, { env: this.env as unknown as Record<string, unknown>, pipeline: this.name, runIds });
    } catch (error) {
      this.log("source_commit_failed", run.runId, { source: source.name, error: String(error) });
    }
  }

  private async cleanUp(runId: string, removeStaging: boolean): Promise<void> {
    this.dispatch.dismiss(runKey(this.name, runId));
    await this.stagedLoads.drop(runId);
    // Checked again: a retry that started meanwhile may be reading this run's staged data.
    if (removeStaging && !this.store.stagingInUse().has(runId) && !this.store.isCleaned(runId)) await this.retention.remove(runId);
  }

  /** The staging of loads that followed transform in runs no longer active (a crash or a lost agent left it). */
  private async dropStagedLoads(): Promise<void> {
    const active = new Set(this.store.activeRunIds());
    for (const runId of this.stagedLoads.marked()) {
      if (!active.has(runId)) await this.stagedLoads.drop(runId);
    }
  }

  /** Saves a new run and starts driving it; answers when it ends if asked to wait (up to `waitMs`). */
  private async launch(run: Run, settings: PipelineSettings, waitMs: number | undefined): Promise<RunView> {
    this.store.save(run, settings);
    this.log("run_started", run.runId, { trigger: run.trigger });
    this.driver.launch(run.runId);
    await this.armWatchdog(settings);
    if (waitMs !== undefined) return (await this.waitForRun(run.runId, waitMs))!;
    return toRunView(run);
  }

  /**
   * Asks for `startNextRun` from an alarm. Not idempotent: a run can end while a `startNextRun` alarm is
   * still executing, and an idempotent request would match that row (the SDK matches by callback and
   * payload), which is deleted when it returns. A spare call finds nothing to start.
   */
  private async scheduleNext(): Promise<void> {
    await this.schedule(0, NEXT_RUN);
  }

  private currentSettings(): { ok: true; settings: PipelineSettings } | { ok: false; errors: string[]; removed?: boolean } {
    const pipeline = deployment.find(this.name);
    const invalid = deployment.invalidNamed(this.name);
    if (invalid) return { ok: false, errors: invalid.errors };
    if (!pipeline) return { ok: false, removed: true, errors: [`pipeline ${this.name} is no longer defined in this deployment`] };
    return resolveSettings(pipeline, this.env as unknown as Record<string, unknown>);
  }

  private defaultParams(): RunParams {
    const pipeline = deployment.find(this.name);
    return pipeline ? defaultParams(pipeline) : {};
  }

  /**
   * Keeps the newest `historyLimit` finished runs and their rejected-record detail. D1 is pruned first,
   * so a failure there leaves the run rows in place to be pruned next time.
   */
  private async prune(settings: PipelineSettings): Promise<void> {
    // A run whose staged data a retry is reading stays until that retry is over.
    const inUse = this.store.stagingInUse();
    const old = this.store.runsBeyond(settings.historyLimit).filter((runId) => !inUse.has(runId));
    if (old.length === 0) return;
    try {
      await deleteRejectionsOfRuns(this.env.DB, this.name, old);
    } catch (error) {
      this.log("prune_failed", old[0]!, { error: String(error), runs: old.length });
      return;
    }
    let pruned = 0;
    for (const runId of old) {
      // Checked again for each run: a retry may have started during a wait.
      if (this.store.stagingInUse().has(runId)) continue;
      if (!this.store.isCleaned(runId)) await this.retention.remove(runId);
      this.store.delete([runId]);
      pruned += 1;
    }
    if (pruned > 0) this.log("history_pruned", old[0]!, { runs: pruned });
  }

  private log(event: EventName, runId: string, fields: Record<string, unknown> = {}): void {
    const stage = typeof fields.stage === "string" ? fields.stage : (this.store.load(runId)?.run.currentStage ?? null);
    logEvent(event, { pipeline: this.name, runId, ...fields, stage });
  }
}
