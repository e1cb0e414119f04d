import { Agent } from "agents";
import type { PipelineSettings } from "../config/settings";
import { deleteRejectionsOfRuns, pageRejections } from "../db/metrics";
import { alertFor, alertMessage, type AlertEvent } from "../domain/alerts";
import { retryDelay } from "../domain/backoff";
import { classifyError, classifyHttpStatus, MEMORY_ADVICE, parseRetryAfter } from "../domain/failures";
import { redactText } from "../domain/redaction";
import { encodeCursor, summarizeGroups, type HistoryCursor, type HistorySummary, type RunTally } from "../domain/history";
import {
  cancelRun,
  completeRun,
  mergeReports,
  giveUp,
  judgeStall,
  nextStep,
  runResumed,
  skipRun,
  stageAttemptFailed,
  stageFailed,
  stageProgressed,
  stageStarted,
  stageSucceeded,
  startRun,
  toRunView,
  type Run,
  type RunView,
  type StageCounts,
  type Trigger,
} from "../domain/run";
import { planShards, shardInstanceName, type ShardPlan } from "../domain/shards";
import { computeStats, type RunPoint } from "../domain/stats";
import { STAGE_NAMES, type StageName } from "../domain/stages";
import { logEvent } from "../log";
import { deleteRunStaging } from "../staging/staging-store";
import type { StageAgent } from "./stages/stage-agent";
import type { StageOutcome, StageTask } from "./stages/stage-task";

export interface StartRunRequest {
  runId: string;
  trigger: Trigger;
  scheduledFor: number | null;
  note?: string | null;
  settings: PipelineSettings;
  /** Answer only when the started run has finished (or after this many ms): one call instead of two. */
  waitMs?: number;
  /** A scheduled run that must not be recorded as skipped when another run is active (a backlog start). */
  ifIdle?: boolean;
}

export type StartRunResult =
  /** A new run was started. */
  | { outcome: "started"; run: RunView }
  /** A run with this id already exists (a second delivery of the same slot, or a same-millisecond trigger). */
  | { outcome: "exists"; run: RunView }
  /** Another run is active; a manual trigger is refused. */
  | { outcome: "conflict"; active: RunView }
  /** Another run is active; a scheduled slot is recorded as skipped. */
  | { outcome: "skipped"; run: RunView };

export type CancelResult =
  | { outcome: "cancelled"; run: RunView }
  | { outcome: "not_active"; run: RunView }
  | { outcome: "not_found" };

export interface RejectedRecord {
  position: number;
  id: string | null;
  stage: string;
  reason: string;
  /** The record as received, as JSON text (cut at 16 KB). */
  raw: string;
}

export type RejectedPage = { found: false } | { found: true; records: RejectedRecord[]; nextPosition: number | null };

export interface HistoryPage {
  summary: HistorySummary;
  runs: RunView[];
  next: HistoryCursor | null;
}

interface RunRow {
  doc: string;
  settings: string;
  [column: string]: SqlStorageValue;
}

/** One in-memory driver of a run. A newer generation (after a stall or a cancel) silences older ones. */
interface Driver {
  generation: number;
  controller: AbortController;
  done: Promise<void>;
}

const WATCHDOG = "watchdog";
const ALERT_CALLBACK = "deliverAlert";
const ALERT_TIMEOUT_MS = 5_000;
/** How long a cancelled or superseded stage attempt gets to stop writing before its run is closed. */
const STOP_GRACE_MS = 5_000;
/** Finished runs let their stage agents go this long after answering. */
const DISMISS_DELAY_MS = 250;
/** Times a stage call is re-dialled when it lands on an instance that is destroying itself. */
const MAX_DIALS = 5;

/**
 * Runs a pipeline's stages in sequence and keeps its run history. One instance per pipeline, named after
 * it.
 *
 * Crash safety: every transition is saved before the next stage starts, with the staged output of every
 * finished stage (the checkpoint). A run marked running that no driver in this instance is driving was
 * interrupted; it is resumed on the next wake-up (any request, the Worker's hourly cron, or this agent's
 * watchdog alarm), at most `maxResumes` times. Stages are keyed by run id and load is an upsert, so a
 * resumed run never duplicates rows.
 */
export class PipelineCoordinator extends Agent<Env> {
  private readonly drivers = new Map<string, Driver>();
  private readonly waiters = new Map<string, Set<(run: RunView) => void>>();
  /** Stage agents woken ahead of their turn, by instance name. */
  private readonly warmed = new Map<string, Promise<DurableObjectStub<StageAgent>>>();
  /** Stage agents a run has called, dismissed when it ends. */
  private readonly called = new Set<string>();
  /** Latest counts of each shard of the stage a run is in, summed into the run as they arrive. */
  private readonly shardCounts = new Map<string, Map<number, StageCounts>>();
  private generations = 0;
  private cachedSummary: HistorySummary | null = null;

  override async onStart(): Promise<void> {
    this.sql`CREATE TABLE IF NOT EXISTS runs (
      run_id      TEXT PRIMARY KEY,
      trigger     TEXT NOT NULL,
      status      TEXT NOT NULL,
      start_time  INTEGER NOT NULL,
      end_time    INTEGER,
      duration_ms INTEGER,
      doc         TEXT NOT NULL,
      settings    TEXT NOT NULL
    )`;
    this.sql`CREATE INDEX IF NOT EXISTS runs_newest_first ON runs (start_time DESC, run_id DESC)`;
    this.sql`CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status)`;
    this.sql`CREATE TABLE IF NOT EXISTS pipeline_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)`;
    const columns = new Set(this.sql<{ name: string }>`SELECT name FROM pragma_table_info('runs')`.map((column) => column.name));
    if (!columns.has("staging_cleaned")) this.sql`ALTER TABLE runs ADD COLUMN staging_cleaned INTEGER NOT NULL DEFAULT 0`;
    // The run as the API shows it, serialised once per save, so reads pass text through unparsed.
    if (!columns.has("view")) this.sql`ALTER TABLE runs ADD COLUMN view TEXT`;
    // A fresh instance drives nothing, so any run still marked running was interrupted.
    for (const runId of this.activeRunIds()) this.resumeOrphan(runId);
    void this.sweepStaging();
  }

  async startRun(request: StartRunRequest): Promise<StartRunResult> {
    // No await between the checks and the insert: the Durable Object runs this turn alone, which is what
    // makes "one active run" and "one run per id" hold under concurrent triggers.
    const existing = this.loadRun(request.runId);
    if (existing) return { outcome: "exists", run: toRunView(existing.run) };

    const fresh = {
      runId: request.runId,
      pipeline: this.name,
      trigger: request.trigger,
      scheduledFor: request.scheduledFor,
      note: request.note ?? null,
      destination: request.settings.destination,
      now: Date.now(),
    };
    const active = this.activeRunIds()[0];
    if (active !== undefined) {
      const activeRun = this.loadRun(active)!.run;
      if (request.trigger === "manual" || request.ifIdle) return { outcome: "conflict", active: toRunView(activeRun) };
      const skipped = skipRun({ ...fresh, reason: `run ${active} was still active` });
      this.saveRun(skipped, request.settings);
      this.log("run_skipped", skipped.pipelineId, { activeRunId: active });
      await this.prune(request.settings);
      return { outcome: "skipped", run: toRunView(skipped) };
    }

    const run = { ...startRun(fresh), inputWatermark: request.settings.watermark ? this.watermark() : null };
    this.saveRun(run, request.settings);
    this.log("run_started", run.pipelineId, { trigger: run.trigger });
    this.launch(run.pipelineId);
    await this.armWatchdog(request.settings);
    if (request.waitMs !== undefined) return { outcome: "started", run: (await this.waitForRun(run.pipelineId, request.waitMs))! };
    return { outcome: "started", run: toRunView(run) };
  }

  /**
   * Posts a run's alert to ALERT_WEBHOOK_URL, retrying transient failures with the pipeline's backoff,
   * and records the outcome on the run. A failed alert is visible in the run; the run's status stands.
   */
  async deliverAlert(payload: { runId: string; event: AlertEvent }): Promise<void> {
    const stored = this.loadRun(payload.runId);
    const url = this.env.ALERT_WEBHOOK_URL;
    if (!stored || !url) return;
    const base = (this.env.PUBLIC_BASE_URL ?? "").replace(/\/+$/, "");
    const message = alertMessage(stored.run, payload.event, `${base}/api/pipeline/runs/${encodeURIComponent(payload.runId)}`);
    const { maxAttempts } = stored.settings.retry;
    let attempts = 0;
    let error: string | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      attempts = attempt;
      let retryAfterMs: number | null = null;
      try {
        // The webhook's own address is a secret: it is never followed elsewhere, and never shown.
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(message),
          redirect: "manual",
          signal: AbortSignal.timeout(ALERT_TIMEOUT_MS),
        });
        await response.body?.cancel();
        if (response.ok) {
          error = undefined;
          break;
        }
        error = `the webhook answered HTTP ${response.status}`;
        if (classifyHttpStatus(response.status) === "permanent") break;
        retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), Date.now());
      } catch (caught) {
        error = `the webhook could not be reached: ${redactText(caught instanceof Error ? caught.message : String(caught), [url])}`;
      }
      if (attempt < maxAttempts) await sleep(retryDelay(attempt, stored.settings.retry, { retryAfterMs }));
    }
    const latest = this.loadRun(payload.runId);
    if (!latest) return;
    const alerts = [...(latest.run.alerts ?? [])];
    const index = alerts.findLastIndex((entry) => entry.event === payload.event && entry.status === "pending");
    const outcome = { event: payload.event, status: error === undefined ? ("delivered" as const) : ("failed" as const), attempts, at: Date.now(), ...(error ? { error } : {}) };
    if (index === -1) alerts.push(outcome);
    else alerts[index] = outcome;
    this.saveRun({ ...latest.run, alerts }, latest.settings);
    this.log(error === undefined ? "alert_delivered" : "alert_failed", payload.runId, { event: payload.event, attempts, error });
  }

  /** A scheduled slot the scheduler decided not to run (missed-run policy): recorded, so history shows it. */
  async recordSkippedSlot(slot: { runId: string; scheduledFor: number; reason: string; settings: PipelineSettings }): Promise<void> {
    if (this.loadRun(slot.runId)) return;
    const skipped = skipRun({
      runId: slot.runId,
      pipeline: this.name,
      trigger: "scheduled",
      scheduledFor: slot.scheduledFor,
      destination: slot.settings.destination,
      now: Date.now(),
      reason: slot.reason,
    });
    this.saveRun(skipped, slot.settings);
    this.log("run_skipped", slot.runId, { reason: slot.reason });
  }

  /** Resolves when the run has finished, or with its current state after `timeoutMs`. */
  async waitForRun(runId: string, timeoutMs: number): Promise<RunView | null> {
    const stored = this.loadRun(runId);
    if (!stored) return null;
    if (stored.run.status !== "running") return toRunView(stored.run);
    return new Promise<RunView>((resolve) => {
      const waiters = this.waiters.get(runId) ?? new Set();
      this.waiters.set(runId, waiters);
      const done = (run: RunView) => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve(run);
      };
      const timer = setTimeout(() => done(toRunView(this.loadRun(runId)!.run)), timeoutMs);
      waiters.add(done);
    });
  }

  /** Stops an active run between chunks or stages; what it had done so far stays in the run. */
  async cancelRun(runId: string, reason: string): Promise<CancelResult> {
    const stored = this.loadRun(runId);
    if (!stored) return { outcome: "not_found" };
    if (stored.run.status !== "running") return { outcome: "not_active", run: toRunView(stored.run) };
    this.log("run_cancelling", runId, { reason });
    await this.stopDriver(runId, `run cancelled: ${reason}`);
    const latest = this.loadRun(runId)!;
    if (latest.run.status !== "running") return { outcome: "not_active", run: toRunView(latest.run) };
    const cancelled = cancelRun(latest.run, reason, Date.now());
    await this.finishRun(cancelled, latest.settings);
    return { outcome: "cancelled", run: toRunView(cancelled) };
  }

  /** Live counts from a stage agent at work (only from the attempt the run is waiting for). */
  async recordStageProgress(runId: string, stage: StageName, attempt: number, shard: number, counts: StageCounts): Promise<void> {
    const stored = this.loadRun(runId);
    if (!stored || stored.run.status !== "running" || stored.run.currentStage !== stage) return;
    if (stored.run.stages.find((candidate) => candidate.name === stage)?.attempts !== attempt) return;
    const shards = this.shardCounts.get(runId) ?? new Map<number, StageCounts>();
    this.shardCounts.set(runId, shards.set(shard, counts));
    const total = { inputCount: 0, outputCount: 0, rejectedCount: 0 };
    for (const part of shards.values()) {
      total.inputCount += part.inputCount;
      total.outputCount += part.outputCount;
      total.rejectedCount += part.rejectedCount;
    }
    this.saveRun(stageProgressed(stored.run, stage, total, Date.now()), stored.settings);
  }

  /** The newest record timestamp loaded by a successful run: where the next incremental read starts. */
  async getWatermark(): Promise<string | null> {
    return this.watermark();
  }

  /**
   * The stall detector, run from this agent's own alarm and from the Worker's hourly cron: resumes runs
   * nobody drives or that made no progress for too long, and fails those resumed too often.
   */
  async watchdog(): Promise<void> {
    let settings: PipelineSettings | undefined;
    for (const runId of this.activeRunIds()) {
      const stored = this.loadRun(runId)!;
      settings = stored.settings;
      if (!this.drivers.has(runId)) {
        this.resumeOrphan(runId);
        continue;
      }
      const verdict = judgeStall(stored.run, Date.now(), stored.settings.stall);
      if (verdict.kind === "healthy") continue;
      this.log("run_stalled", runId, { verdict: verdict.kind, lastProgressAt: stored.run.lastProgressAt });
      await this.stopDriver(runId, "stalled");
      const latest = this.loadRun(runId)!;
      if (latest.run.status !== "running") continue;
      if (verdict.kind === "give-up") {
        await this.finishRun(giveUp(latest.run, verdict.reason, Date.now()), latest.settings);
      } else {
        this.saveRun(runResumed(latest.run, Date.now()), latest.settings);
        this.launch(runId);
      }
    }
    if (settings && this.activeRunIds().length > 0) await this.armWatchdog(settings);
  }

  async getRun(runId: string): Promise<RunView | null> {
    const stored = this.loadRun(runId);
    return stored ? toRunView(stored.run) : null;
  }

  /** A page of a run's rejected records, from D1, in position order. */
  async listRejected(runId: string, afterPosition: number, limit: number): Promise<RejectedPage> {
    if (!this.loadRun(runId)) return { found: false };
    const rows = await pageRejections(this.env.DB, this.name, runId, afterPosition, limit + 1);
    const records = rows.slice(0, limit).map((row) => ({ position: row.position, id: row.record_id, stage: row.stage, reason: row.reason, raw: row.raw }));
    return { found: true, records, nextPosition: rows.length > limit ? (records.at(-1)?.position ?? null) : null };
  }

  /** Stats over the runs that started in the last `windowMs` (all runs for null), as JSON text. */
  async getStatsJson(windowMs: number | null): Promise<string> {
    const from = windowMs === null ? null : Date.now() - windowMs;
    const rows = this.sql<{ doc: string }>`SELECT doc FROM runs WHERE start_time >= ${from ?? 0} AND status != 'running'`;
    const points: RunPoint[] = rows.map((row) => {
      const run = JSON.parse(row.doc) as Run;
      return {
        runId: run.pipelineId,
        trigger: run.trigger,
        status: run.status,
        startTime: run.startTime,
        durationMs: run.endTime === null ? null : run.endTime - run.startTime,
        loaded: run.finalResult?.recordCount ?? 0,
        rejected: run.rejectedCount,
      };
    });
    const label = windowMs === null ? "all" : `${Math.round(windowMs / 86_400_000)}d`;
    return JSON.stringify(computeStats(points, label, from));
  }

  /** `getRun` as JSON text, for the API: no parsing or copying of the run on the way out. */
  async getRunJson(runId: string): Promise<string | null> {
    const [row] = this.sql<{ doc: string; view: string | null }>`SELECT doc, view FROM runs WHERE run_id = ${runId}`;
    return row ? this.viewText(row) : null;
  }

  /** `getLastRun` as JSON text ("null" before any run). */
  async getLastRunJson(): Promise<string> {
    const [row] = this.sql<{ doc: string; view: string | null }>`
      SELECT doc, view FROM runs WHERE status IN ('succeeded', 'failed', 'cancelled')
      ORDER BY start_time DESC, run_id DESC LIMIT 1`;
    return row ? this.viewText(row) : "null";
  }

  /** The history page as the API answers it, as JSON text: the stored run views joined, unparsed. */
  async getHistoryJson(limit: number, cursor: HistoryCursor | null): Promise<string> {
    const rows = cursor
      ? this.sql<{ doc: string; view: string | null; run_id: string; start_time: number }>`
          SELECT doc, view, run_id, start_time FROM runs WHERE (start_time, run_id) < (${cursor.startTime}, ${cursor.runId})
          ORDER BY start_time DESC, run_id DESC LIMIT ${limit + 1}`
      : this.sql<{ doc: string; view: string | null; run_id: string; start_time: number }>`
          SELECT doc, view, run_id, start_time FROM runs ORDER BY start_time DESC, run_id DESC LIMIT ${limit + 1}`;
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const next = rows.length > limit && last ? JSON.stringify(encodeCursor({ startTime: last.start_time, runId: last.run_id })) : "null";
    return `{"summary":${JSON.stringify(this.summary())},"runs":[${page.map((row) => this.viewText(row)).join(",")}],"nextCursor":${next}}`;
  }

  /** The most recent run that actually executed and finished (succeeded, failed or cancelled). */
  async getLastRun(): Promise<RunView | null> {
    const [row] = this.sql<RunRow>`
      SELECT doc, settings FROM runs WHERE status IN ('succeeded', 'failed', 'cancelled')
      ORDER BY start_time DESC, run_id DESC LIMIT 1`;
    return row ? toRunView(JSON.parse(row.doc) as Run) : null;
  }

  async getHistory(limit: number, cursor: HistoryCursor | null): Promise<HistoryPage> {
    const rows = cursor
      ? this.sql<RunRow>`
          SELECT doc, settings FROM runs WHERE (start_time, run_id) < (${cursor.startTime}, ${cursor.runId})
          ORDER BY start_time DESC, run_id DESC LIMIT ${limit + 1}`
      : this.sql<RunRow>`SELECT doc, settings FROM runs ORDER BY start_time DESC, run_id DESC LIMIT ${limit + 1}`;
    const runs = rows.slice(0, limit).map((row) => toRunView(JSON.parse(row.doc) as Run));
    const last = runs.at(-1);
    return {
      summary: this.summary(),
      runs,
      next: rows.length > limit && last ? { startTime: last.startTime, runId: last.pipelineId } : null,
    };
  }

  /** The history summary, aggregated by SQLite rather than by loading every run; kept until a run changes. */
  private summary(): HistorySummary {
    if (this.cachedSummary) return this.cachedSummary;
    const groups = this.sql<{ status: RunTally["status"]; runs: number; finished_ms: number; finished: number; last_start: number }>`
      SELECT status, COUNT(*) AS runs,
             TOTAL(CASE WHEN status IN ('succeeded', 'failed') THEN duration_ms END) AS finished_ms,
             COUNT(CASE WHEN status IN ('succeeded', 'failed') AND duration_ms IS NOT NULL THEN 1 END) AS finished,
             MAX(start_time) AS last_start
      FROM runs GROUP BY status`;
    this.cachedSummary = summarizeGroups(groups.map((group) => ({ status: group.status, runs: group.runs, durationTotal: group.finished_ms, durationCount: group.finished, lastStart: group.last_start })));
    return this.cachedSummary;
  }

  private resumeOrphan(runId: string): void {
    const stored = this.loadRun(runId);
    if (!stored || stored.run.status !== "running" || this.drivers.has(runId)) return;
    const { maxResumes } = stored.settings.stall;
    if (stored.run.resumes >= maxResumes) {
      const reason = `interrupted again after ${stored.run.resumes} resume${stored.run.resumes === 1 ? "" : "s"} (limit ${maxResumes})`;
      void this.finishRun(giveUp(stored.run, reason, Date.now()), stored.settings);
      return;
    }
    this.log("run_resumed", runId, { resumes: stored.run.resumes + 1, stage: stored.run.currentStage });
    this.saveRun(runResumed(stored.run, Date.now()), stored.settings);
    this.launch(runId);
    void this.armWatchdog(stored.settings);
  }

  /**
   * Wakes the agents of the stage after `stage` while `stage` works, so their start-up (the constructor,
   * the SDK's tables, onStart) overlaps that work instead of adding to the run.
   */
  private prewarmAfter(runId: string, stage: StageName, settings: PipelineSettings): void {
    const next = STAGE_NAMES[STAGE_NAMES.indexOf(stage) + 1];
    if (next) this.prewarm(runId, next, settings);
  }

  private prewarm(runId: string, stage: StageName, settings: PipelineSettings): void {
    const shards = stage === "extract" ? 1 : stage === "transform" ? settings.parallelism.transform : settings.parallelism.load;
    for (let shard = 0; shard < shards; shard += 1) {
      const name = shardInstanceName(runId, stage, shard);
      if (this.warmed.has(name)) continue;
      const stub = this.stageNamespace(stage).getByName(name);
      const ready = stub.standBy().then(() => stub);
      ready.catch(() => this.warmed.delete(name));
      this.warmed.set(name, ready);
    }
  }

  /**
   * Lets every stage agent of a finished run go, once the run has answered: the ones it called and the
   * ones woken for stages it never reached. Each has a fallback alarm if this never happens.
   */
  private dismissStages(runId: string): void {
    const prefix = `${runId}:`;
    for (const [name, ready] of this.warmed) {
      if (!name.startsWith(prefix)) continue;
      this.warmed.delete(name);
      void ready.then((stub) => stub.dismiss()).catch(() => undefined);
    }
    for (const name of this.called) {
      if (!name.startsWith(prefix)) continue;
      this.called.delete(name);
      const stage = name.slice(prefix.length).split(":")[0] as StageName;
      void this.stageNamespace(stage).getByName(name).dismiss().catch(() => undefined);
    }
  }

  private launch(runId: string): void {
    if (this.drivers.has(runId)) return;
    const generation = ++this.generations;
    const controller = new AbortController();
    const done = this.keepAliveWhile(() => this.drive(runId, generation, controller.signal))
      .catch((error: unknown) => this.failUnexpectedly(runId, generation, error))
      .finally(() => {
        if (this.drivers.get(runId)?.generation === generation) this.drivers.delete(runId);
      });
    this.drivers.set(runId, { generation, controller, done });
  }

  /** Silences the run's current driver and waits (briefly) for its stage attempt to stop. */
  private async stopDriver(runId: string, reason: string): Promise<void> {
    const driver = this.drivers.get(runId);
    if (!driver) return;
    this.drivers.delete(runId);
    driver.controller.abort(new Error(reason));
    await Promise.race([driver.done, sleep(STOP_GRACE_MS + 1_000)]);
  }

  private isCurrent(runId: string, generation: number): boolean {
    return this.drivers.get(runId)?.generation === generation;
  }

  /** Moves a run forward stage by stage, saving after every transition. */
  private async drive(runId: string, generation: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      if (!this.isCurrent(runId, generation)) return;
      const stored = this.loadRun(runId);
      if (!stored) return;
      const { run, settings } = stored;
      const step = nextStep(run);
      if (step.kind === "none") return;

      if (step.kind === "complete") {
        await this.finishRun(completeRun(run, Date.now()), settings);
        return;
      }

      const started = stageStarted(run, step.stage, Date.now());
      this.saveRun(started, settings);
      this.shardCounts.delete(runId);
      const attempt = started.stages.find((stage) => stage.name === step.stage)!.attempts;
      const plans = planShards(step.stage, step.input, settings.parallelism);
      this.log("stage_started", runId, { stage: step.stage, attempt, shards: plans.length });
      for (const plan of plans) this.called.add(shardInstanceName(runId, step.stage, plan.shard));
      const calling = this.callShards(plans, { runId, stage: step.stage, attempt, settings, watermark: run.inputWatermark ?? null }, signal);
      // The next stage's agents wake while this one works, queued behind this stage's call.
      setTimeout(() => this.prewarmAfter(runId, step.stage, settings), 0);
      const outcome = await calling;
      if (!this.isCurrent(runId, generation)) return;
      const current = this.loadRun(runId)!.run;

      if (outcome.ok) {
        this.saveRun(stageSucceeded(current, step.stage, outcome.report, Date.now()), settings);
        this.log("stage_succeeded", runId, { stage: step.stage, attempt, outputCount: outcome.report.outputCount });
        continue;
      }
      if (outcome.transient && attempt < settings.retry.maxAttempts) {
        const delay = retryDelay(attempt, settings.retry, { overloaded: outcome.overloaded ?? false });
        this.log("stage_retrying", runId, { stage: step.stage, attempt, error: outcome.error, delayMs: delay });
        this.saveRun(stageAttemptFailed(current, step.stage, outcome.error, Date.now()), settings);
        await sleep(delay, signal);
        continue;
      }
      this.log("stage_failed", runId, { stage: step.stage, attempt, error: outcome.error, transient: outcome.transient });
      await this.finishRun(stageFailed(current, step.stage, outcome.error, Date.now(), outcome.source), settings);
      return;
    }
  }

  /** Runs every shard of a stage attempt side by side; the attempt succeeds only if all of them do. */
  private async callShards(
    plans: ShardPlan[],
    common: Pick<StageTask, "runId" | "stage" | "attempt" | "settings" | "watermark">,
    signal: AbortSignal,
  ): Promise<StageOutcome> {
    const outcomes = await Promise.all(
      plans.map((plan) => this.callStage({ ...common, shard: plan.shard, shards: plan.shards, offset: plan.offset, input: plan.input }, signal)),
    );
    const failures = outcomes.filter((outcome): outcome is Extract<StageOutcome, { ok: false }> => !outcome.ok);
    if (failures.length === 0) {
      return { ok: true, report: mergeReports(outcomes.map((outcome) => (outcome as Extract<StageOutcome, { ok: true }>).report)) };
    }
    const errors = [...new Set(failures.map((failure) => failure.error))];
    return {
      ok: false,
      error: plans.length > 1 ? `${failures.length} of ${plans.length} shards failed: ${errors.join("; ")}` : errors[0]!,
      transient: failures.every((failure) => failure.transient),
      overloaded: failures.some((failure) => failure.overloaded),
      cancelled: failures.some((failure) => failure.cancelled),
      ...(failures.find((failure) => failure.source) ? { source: failures.find((failure) => failure.source)!.source } : {}),
    };
  }

  /**
   * One attempt of one stage, bounded by the stage timeout. On timeout or when the driver is stopped, the
   * attempt is told to stop; a timed-out attempt is a transient failure (it may be retried).
   */
  private async callStage(task: StageTask, signal: AbortSignal): Promise<StageOutcome> {
    const timeout = Symbol("timeout");
    const stopped = Symbol("stopped");
    const deadline = Date.now() + task.settings.stageTimeoutMs;
    for (let dial = 1; ; dial += 1) {
      let stub: DurableObjectStub<StageAgent>;
      const name = shardInstanceName(task.runId, task.stage, task.shard);
      const warm = dial === 1 ? this.warmed.get(name) : undefined;
      // A woken stub serves one call: after it, the agent may destroy itself, and a retry dials afresh.
      this.warmed.delete(name);
      try {
        stub = await (warm ?? this.stageNamespace(task.stage).getByName(name));
      } catch (error) {
        if (isGone(error) && dial < MAX_DIALS) continue;
        return rpcFailure(task, error);
      }
      const call = stub.runStage(task).then(
        (outcome): StageOutcome | "gone" => outcome,
        (error: unknown): StageOutcome | "gone" => (isGone(error) ? "gone" : rpcFailure(task, error)),
      );
      const first = await raceWithTimeout(call, Math.max(0, deadline - Date.now()), signal, timeout, stopped);
      // The instance was destroying itself after an earlier attempt: a fresh stub reaches a fresh instance.
      if (first === "gone" && dial < MAX_DIALS) continue;
      if (first === "gone") return { ok: false, error: `the ${task.stage} stage agent kept disappearing`, transient: true };
      if (first !== timeout && first !== stopped) return first;

      const reason =
        first === timeout
          ? `the ${task.stage} stage did not finish within ${task.settings.stageTimeoutMs} ms`
          : String((signal.reason as Error | undefined)?.message ?? "stopped");
      await stub.cancelAttempt(task.attempt, reason).catch(() => false);
      if (first === stopped) {
        // Give the attempt a moment to stop writing, so cleanup after a cancel leaves nothing behind.
        await Promise.race([call, sleep(STOP_GRACE_MS)]);
        return { ok: false, error: reason, transient: false, cancelled: true };
      }
      return { ok: false, error: reason, transient: true };
    }
  }

  private stageNamespace(stage: StageName): DurableObjectNamespace<StageAgent> {
    const namespaces = {
      extract: this.env.ExtractStage,
      transform: this.env.TransformStage,
      load: this.env.LoadStage,
    } satisfies Record<StageName, DurableObjectNamespace<StageAgent>>;
    return namespaces[stage];
  }

  /** A bug in the driver must not leave a run "running" forever: fail it where it stood. */
  private async failUnexpectedly(runId: string, generation: number, error: unknown): Promise<void> {
    this.log("driver_error", runId, { error: String(error), stack: error instanceof Error ? error.stack : undefined });
    if (!this.isCurrent(runId, generation)) return;
    const stored = this.loadRun(runId);
    if (!stored || stored.run.status !== "running") return;
    await this.finishRun(giveUp(stored.run, `internal error: ${String(error)}`, Date.now()), stored.settings);
  }

  private async armWatchdog(settings: PipelineSettings): Promise<void> {
    const nowSeconds = Date.now() / 1000;
    const pending = (await this.listSchedules()).some((schedule) => schedule.callback === WATCHDOG && schedule.time > nowSeconds);
    if (!pending) await this.schedule(Math.max(1, Math.ceil(settings.watchdogIntervalMs / 1000)), WATCHDOG);
  }

  /**
   * Deletes a finished run's staged objects and marks it done. A run that finished without this (the
   * process died in between, or R2 failed) is swept again when the coordinator next wakes.
   */
  private async removeStaging(runId: string): Promise<void> {
    try {
      await deleteRunStaging(this.env.STAGING, runId);
      this.sql`UPDATE runs SET staging_cleaned = 1 WHERE run_id = ${runId}`;
    } catch (error) {
      // Leftover staging costs storage, not correctness; the run's outcome stands.
      this.log("staging_cleanup_failed", runId, { error: String(error) });
    }
  }

  private async sweepStaging(): Promise<void> {
    const pending = this.sql<{ run_id: string }>`SELECT run_id FROM runs WHERE status != 'running' AND staging_cleaned = 0 LIMIT 20`;
    for (const row of pending) await this.removeStaging(row.run_id);
  }

  private async finishRun(finished: Run, settings: PipelineSettings): Promise<void> {
    const alert = this.env.ALERT_WEBHOOK_URL ? alertFor(finished, this.previousFinishedStatus(finished)) : null;
    const run: Run = alert ? { ...finished, alerts: [...(finished.alerts ?? []), { event: alert, status: "pending", attempts: 0, at: Date.now() }] } : finished;
    this.saveRun(run, settings);
    this.shardCounts.delete(run.pipelineId);
    if (run.status === "succeeded" && run.maxTimestamp !== null) {
      const current = this.watermark();
      if (current === null || run.maxTimestamp > current) {
        this.sql`INSERT INTO pipeline_state (key, value) VALUES ('watermark', ${run.maxTimestamp})
          ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
      }
    }
    const view = toRunView(run);
    for (const notify of this.waiters.get(run.pipelineId) ?? []) notify(view);
    this.waiters.delete(run.pipelineId);
    this.log(`run_${run.status}`, run.pipelineId, {
      durationMs: view.totalDuration,
      recordCount: run.finalResult?.recordCount ?? 0,
      accounting: view.accounting,
      resumes: run.resumes,
      error: run.error,
    });
    // Sent from an alarm: the alert survives a restart, and its outcome never touches the run's.
    if (alert) await this.schedule(0, ALERT_CALLBACK, { runId: run.pipelineId, event: alert }, { retry: { maxAttempts: 1 } });
    // Housekeeping once the run has answered: off the path of whoever waits for it.
    setTimeout(() => this.dismissStages(run.pipelineId), DISMISS_DELAY_MS);
    await this.removeStaging(run.pipelineId);
    await this.prune(settings);
  }

  /**
   * Keeps the newest `historyLimit` finished runs and their rejected-record detail. D1 is pruned first,
   * so a failure there leaves the run rows in place to be pruned next time.
   */
  private async prune(settings: PipelineSettings): Promise<void> {
    const old = this.sql<{ run_id: string }>`
      SELECT run_id FROM runs WHERE status != 'running'
      ORDER BY start_time DESC, run_id DESC LIMIT -1 OFFSET ${settings.historyLimit}`.map((row) => row.run_id);
    if (old.length === 0) return;
    try {
      await deleteRejectionsOfRuns(this.env.DB, this.name, old);
    } catch (error) {
      this.log("prune_failed", old[0]!, { error: String(error), runs: old.length });
      return;
    }
    for (const runId of old) this.sql`DELETE FROM runs WHERE run_id = ${runId}`;
    this.cachedSummary = null;
    this.log("history_pruned", old[0]!, { runs: old.length });
  }

  private loadRun(runId: string): { run: Run; settings: PipelineSettings } | null {
    const [row] = this.sql<RunRow>`SELECT doc, settings FROM runs WHERE run_id = ${runId}`;
    if (!row) return null;
    return { run: JSON.parse(row.doc) as Run, settings: JSON.parse(row.settings) as PipelineSettings };
  }

  private saveRun(run: Run, settings: PipelineSettings): void {
    this.cachedSummary = null;
    const duration = run.endTime === null ? null : run.endTime - run.startTime;
    this.sql`
      INSERT INTO runs (run_id, trigger, status, start_time, end_time, duration_ms, doc, settings, view)
      VALUES (${run.pipelineId}, ${run.trigger}, ${run.status}, ${run.startTime}, ${run.endTime}, ${duration},
              ${JSON.stringify(run)}, ${JSON.stringify(settings)}, ${JSON.stringify(toRunView(run))})
      ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, end_time = excluded.end_time,
        duration_ms = excluded.duration_ms, doc = excluded.doc, view = excluded.view`;
  }

  /** A run's API view as JSON text: stored with every save, derived for rows saved before that existed. */
  private viewText(row: { doc: string; view: string | null }): string {
    return row.view ?? JSON.stringify(toRunView(JSON.parse(row.doc) as Run));
  }

  /** The status of the last run before `run` that executed (skipped runs did not). */
  private previousFinishedStatus(run: Run): Run["status"] | null {
    const [row] = this.sql<{ status: Run["status"] }>`
      SELECT status FROM runs WHERE status IN ('succeeded', 'failed', 'cancelled') AND run_id != ${run.pipelineId}
        AND start_time <= ${run.startTime}
      ORDER BY start_time DESC, run_id DESC LIMIT 1`;
    return row?.status ?? null;
  }

  private watermark(): string | null {
    const [row] = this.sql<{ value: string }>`SELECT value FROM pipeline_state WHERE key = 'watermark'`;
    return row?.value ?? null;
  }

  private activeRunIds(): string[] {
    return this.sql<{ run_id: string }>`SELECT run_id FROM runs WHERE status = 'running' ORDER BY start_time`.map(
      (row) => row.run_id,
    );
  }

  private log(event: string, runId: string, fields: Record<string, unknown> = {}): void {
    const level = /failed|error|stalled/.test(event) ? (event === "driver_error" ? "error" : "warn") : "info";
    const stage = typeof fields.stage === "string" ? fields.stage : (this.loadRun(runId)?.run.currentStage ?? null);
    logEvent(level, { event, pipeline: this.name, runId, ...fields, stage });
  }
}

/** A stage call that failed in the platform (the agent's isolate reset, ran out of memory, was overloaded). */
function rpcFailure(task: StageTask, error: unknown): StageOutcome {
  const message = error instanceof Error ? error.message : String(error);
  const classified = classifyError(error);
  const advice = classified.memory ? `: ${MEMORY_ADVICE} (now ${task.settings.chunkRecords})` : "";
  return { ok: false, error: `the ${task.stage} stage agent failed: ${message}${advice}`, transient: classified.kind === "transient", overloaded: classified.overloaded };
}

/** A stub that reached an instance in the middle of destroy() fails with "destroyed"; it is not the stage's failure. */
function isGone(error: unknown): boolean {
  return error instanceof Error && /\bdestroyed\b/i.test(error.message);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

async function raceWithTimeout<T, A extends symbol, B extends symbol>(
  work: Promise<T>,
  timeoutMs: number,
  signal: AbortSignal,
  timeout: A,
  stopped: B,
): Promise<T | A | B> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<A>((resolve) => {
        timer = setTimeout(() => resolve(timeout), timeoutMs);
      }),
      new Promise<B>((resolve) => {
        if (signal.aborted) resolve(stopped);
        onAbort = () => resolve(stopped);
        signal.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}
