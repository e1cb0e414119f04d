import { Agent, getAgentByName } from "agents";
import type { PipelineSettings } from "../config/settings";
import { summarize, type HistoryCursor, type HistorySummary, type RunTally } from "../domain/history";
import {
  completeRun,
  nextStep,
  skipRun,
  stageFailed,
  stageStarted,
  stageSucceeded,
  startRun,
  toRunView,
  type Run,
  type RunView,
  type Trigger,
} from "../domain/run";
import { stageInstanceName, type StageName } from "../domain/stages";
import { deleteRunStaging } from "../staging/staging-store";
import type { StageAgent } from "./stages/stage-agent";
import type { StageOutcome, StageTask } from "./stages/stage-task";

export interface StartRunRequest {
  runId: string;
  trigger: Trigger;
  scheduledFor: number | null;
  settings: PipelineSettings;
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

/**
 * Runs a pipeline's stages in sequence and keeps its run history. One instance per pipeline, named after
 * it. Every transition is saved before the next stage starts, so an interrupted run resumes from its last
 * completed stage the next time the coordinator wakes.
 */
export class PipelineCoordinator extends Agent<Env> {
  /** Runs being driven by this instance, so a run is never driven twice at once. */
  private readonly drivers = new Map<string, Promise<void>>();
  private readonly waiters = new Map<string, Set<(run: RunView) => void>>();

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
    // A fresh instance drives nothing, so any run still marked running was interrupted: resume it.
    for (const runId of this.activeRunIds()) this.launch(runId);
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
      destination: request.settings.destination,
      now: Date.now(),
    };
    const active = this.activeRunIds()[0];
    if (active !== undefined) {
      const activeRun = this.loadRun(active)!.run;
      if (request.trigger === "manual") return { outcome: "conflict", active: toRunView(activeRun) };
      const skipped = skipRun({ ...fresh, activeRunId: active });
      this.saveRun(skipped, request.settings);
      this.log("run_skipped", skipped.pipelineId, { activeRunId: active });
      return { outcome: "skipped", run: toRunView(skipped) };
    }

    const run = startRun(fresh);
    this.saveRun(run, request.settings);
    this.log("run_started", run.pipelineId, { trigger: run.trigger });
    this.launch(run.pipelineId);
    return { outcome: "started", run: toRunView(run) };
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

  async getRun(runId: string): Promise<RunView | null> {
    const stored = this.loadRun(runId);
    return stored ? toRunView(stored.run) : null;
  }

  /** The most recent run that actually executed and finished (succeeded or failed). */
  async getLastRun(): Promise<RunView | null> {
    const [row] = this.sql<RunRow>`
      SELECT doc, settings FROM runs WHERE status IN ('succeeded', 'failed')
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
    const tallies = this.sql<{ status: RunTally["status"]; start_time: number; duration_ms: number | null }>`
      SELECT status, start_time, duration_ms FROM runs`;
    return {
      summary: summarize(tallies.map((t) => ({ status: t.status, startTime: t.start_time, durationMs: t.duration_ms }))),
      runs,
      next: rows.length > limit && last ? { startTime: last.startTime, runId: last.pipelineId } : null,
    };
  }

  private launch(runId: string): void {
    if (this.drivers.has(runId)) return;
    const work = this.keepAliveWhile(() => this.drive(runId))
      .catch((error: unknown) => this.failUnexpectedly(runId, error))
      .finally(() => this.drivers.delete(runId));
    this.drivers.set(runId, work);
  }

  /** Moves a run forward stage by stage, saving after every transition. */
  private async drive(runId: string): Promise<void> {
    for (;;) {
      const stored = this.loadRun(runId);
      if (!stored) return;
      const { run, settings } = stored;
      const step = nextStep(run);
      if (step.kind === "none") return;

      if (step.kind === "complete") {
        await this.removeStaging(runId);
        this.finishRun(completeRun(run, Date.now()), settings);
        return;
      }

      const started = stageStarted(run, step.stage, Date.now());
      this.saveRun(started, settings);
      this.log("stage_started", runId, { stage: step.stage });
      const task: StageTask = {
        runId,
        stage: step.stage,
        attempt: started.stages.find((stage) => stage.name === step.stage)!.attempts,
        input: step.input,
        settings,
      };
      const outcome = await this.callStage(task);
      if (outcome.ok) {
        this.saveRun(stageSucceeded(started, step.stage, outcome.report, Date.now()), settings);
        this.log("stage_succeeded", runId, { stage: step.stage, outputCount: outcome.report.outputCount });
        continue;
      }
      this.log("stage_failed", runId, { stage: step.stage, error: outcome.error });
      await this.removeStaging(runId);
      this.finishRun(stageFailed(started, step.stage, outcome.error, Date.now()), settings);
      return;
    }
  }

  /** A bug in the driver must not leave a run "running" forever: fail it where it stood. */
  private failUnexpectedly(runId: string, error: unknown): void {
    this.log("driver_error", runId, { error: String(error), stack: error instanceof Error ? error.stack : undefined });
    const stored = this.loadRun(runId);
    if (!stored || stored.run.status !== "running") return;
    const stage = stored.run.currentStage ?? stored.run.stages.find((candidate) => candidate.status !== "succeeded")?.name ?? "load";
    this.finishRun(stageFailed(stored.run, stage, `internal error: ${String(error)}`, Date.now()), stored.settings);
  }

  private async callStage(task: StageTask): Promise<StageOutcome> {
    try {
      const stub = await getAgentByName(this.stageNamespace(task.stage), stageInstanceName(task.runId, task.stage));
      return await stub.runStage(task);
    } catch (error) {
      return { ok: false, error: `the ${task.stage} stage agent failed: ${error instanceof Error ? error.message : String(error)}` };
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

  private async removeStaging(runId: string): Promise<void> {
    try {
      await deleteRunStaging(this.env.STAGING, runId);
    } catch (error) {
      // Leftover staging costs storage, not correctness; the run's outcome stands.
      this.log("staging_cleanup_failed", runId, { error: String(error) });
    }
  }

  private finishRun(run: Run, settings: PipelineSettings): void {
    this.saveRun(run, settings);
    this.log(run.status === "succeeded" ? "run_succeeded" : "run_failed", run.pipelineId, {
      durationMs: run.endTime === null ? null : run.endTime - run.startTime,
      recordCount: run.finalResult?.recordCount ?? 0,
      error: run.error,
    });
    const view = toRunView(run);
    for (const notify of this.waiters.get(run.pipelineId) ?? []) notify(view);
    this.waiters.delete(run.pipelineId);
  }

  private loadRun(runId: string): { run: Run; settings: PipelineSettings } | null {
    const [row] = this.sql<RunRow>`SELECT doc, settings FROM runs WHERE run_id = ${runId}`;
    if (!row) return null;
    return { run: JSON.parse(row.doc) as Run, settings: JSON.parse(row.settings) as PipelineSettings };
  }

  private saveRun(run: Run, settings: PipelineSettings): void {
    const duration = run.endTime === null ? null : run.endTime - run.startTime;
    this.sql`
      INSERT INTO runs (run_id, trigger, status, start_time, end_time, duration_ms, doc, settings)
      VALUES (${run.pipelineId}, ${run.trigger}, ${run.status}, ${run.startTime}, ${run.endTime}, ${duration},
              ${JSON.stringify(run)}, ${JSON.stringify(settings)})
      ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, end_time = excluded.end_time,
        duration_ms = excluded.duration_ms, doc = excluded.doc`;
  }

  private activeRunIds(): string[] {
    return this.sql<{ run_id: string }>`SELECT run_id FROM runs WHERE status = 'running' ORDER BY start_time`.map(
      (row) => row.run_id,
    );
  }

  private log(event: string, runId: string, fields: Record<string, unknown> = {}): void {
    console.log(JSON.stringify({ event, pipeline: this.name, runId, ...fields }));
  }
}
