import { Agent } from "agents";
import { readSettings, type PipelineSettings } from "../config/settings";
import type { HistoryCursor } from "../domain/history";
import type { RunView } from "../domain/run";
import { manualRunId, scheduledRunId } from "../domain/run-ids";
import { formatInterval, nextSlot, planArming, planCatchUp, slotInterval, type ArmedSlot, type MissedRunPolicy, type ScheduleSpec } from "../domain/schedule";
import { applyScheduleChange, type ScheduleChange } from "../domain/schedule-change";
import { logEvent } from "../log";
import type { CancelResult, HistoryPage, RejectedPage } from "./pipeline-coordinator";

/** Callbacks the scheduler's alarms invoke. Constants, because schedule rows store them by name. */
export const SLOT_CALLBACK = "runScheduledSlot";
export const BACKLOG_CALLBACK = "drainBacklog";
export const SCHEDULE_NAME = "daily-etl-pipeline";
/** How often a backlog of missed slots (policy "all") tries to start its next run. */
const BACKLOG_RETRY_SECONDS = 15;

export interface SlotPayload {
  slot: number;
}

export interface ScheduleView {
  id: string | null;
  name: string;
  scheduleType: "recurring";
  cron: string | null;
  /** Fixed interval, as written ("6h"); null for a cron schedule. */
  every: string | null;
  timezone: string;
  /** The gap to the slot after the next one, in ms (86,400,000 for a daily schedule). */
  interval: number | null;
  enabled: boolean;
  missedRuns: MissedRunPolicy;
  maxCatchUp: number;
  /** Where the schedule comes from: set through the API, or the deployment's configuration. */
  source: "api" | "config";
  nextExecuteAt: number | null;
  lastExecutedAt: number | null;
  executionCount: number;
  /** Missed slots waiting to run (policy "all"). */
  backlog: number[];
  error?: string;
}

export type TriggerResult =
  | { outcome: "started"; run: RunView }
  | { outcome: "conflict"; active: RunView }
  | { outcome: "misconfigured"; errors: string[] };

export type ScheduleUpdate = { ok: true; schedule: ScheduleView } | { ok: false; reason: string };

/**
 * Owns a pipeline's schedule and is the API's entry point. It arms one alarm per slot (the next time the
 * schedule fires) and, when a slot fires, starts the run named after that slot on the coordinator. Slots
 * that passed unseen (the service was down, an alarm was lost) are handled by the missed-run policy.
 */
export class PipelineScheduler extends Agent<Env> {
  override async onStart(): Promise<void> {
    this.sql`CREATE TABLE IF NOT EXISTS schedule_state (
      id               INTEGER PRIMARY KEY CHECK (id = 1),
      execution_count  INTEGER NOT NULL DEFAULT 0,
      last_slot        INTEGER,
      last_executed_at INTEGER
    )`;
    this.sql`INSERT OR IGNORE INTO schedule_state (id) VALUES (1)`;
    // A schedule set through the API; when absent, the deployment's configuration applies.
    this.sql`CREATE TABLE IF NOT EXISTS schedule_config (id INTEGER PRIMARY KEY CHECK (id = 1), spec TEXT NOT NULL)`;
    this.sql`CREATE TABLE IF NOT EXISTS schedule_backlog (slot INTEGER PRIMARY KEY)`;
    // A scheduler owes nothing from before it existed: slots are counted from its first start.
    if (this.lastSlot() === null) this.setLastSlot(Date.now());
    await this.armAfter(Date.now());
  }

  /**
   * Makes sure exactly one future slot is armed, catches up on slots that passed unseen, and lets the
   * coordinator check its runs for stalls. Safe to call any number of times: the Worker's hourly cron
   * calls it, so the schedule exists after a deploy and nothing waits for an API call.
   */
  async ensureArmed(): Promise<ScheduleView[]> {
    const now = Date.now();
    const spec = this.spec();
    // A due slot whose alarm is about to fire will be handled by it; otherwise look for lost ones.
    const due = (await this.armedSlots()).some((entry) => entry.slot <= now);
    if (spec && !due) await this.catchUp(spec, now);
    await this.armAfter(now);
    await this.coordinator().watchdog();
    return this.describeSchedule();
  }

  /** Invoked by the slot's alarm. Alarms are at-least-once, so every step tolerates a repeat. */
  async runScheduledSlot(payload: SlotPayload): Promise<void> {
    const now = Math.max(Date.now(), payload.slot);
    // Arm the next slot first: whatever happens to this run, the schedule carries on.
    await this.armAfter(now);
    const spec = this.spec();
    if (!spec) return;
    // The slot being delivered, and any that passed unseen before it, go through the missed-run policy.
    await this.catchUp(spec, now);
  }

  /** Runs the oldest missed slot waiting in the backlog once no run is active. */
  async drainBacklog(): Promise<void> {
    const [next] = this.sql<{ slot: number }>`SELECT slot FROM schedule_backlog ORDER BY slot LIMIT 1`;
    if (!next) return;
    const settings = this.settings();
    if (!settings.ok) return;
    const result = await this.coordinator().startRun({
      runId: scheduledRunId(next.slot),
      trigger: "scheduled",
      scheduledFor: next.slot,
      settings: settings.settings,
      ifIdle: true,
    });
    if (result.outcome !== "conflict") {
      this.sql`DELETE FROM schedule_backlog WHERE slot = ${next.slot}`;
      this.countExecution(next.slot);
    }
    if (this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM schedule_backlog`[0]!.n > 0) {
      await this.schedule(result.outcome === "conflict" ? BACKLOG_RETRY_SECONDS : 1, BACKLOG_CALLBACK, undefined, { idempotent: true });
    }
  }

  async trigger(options: { wait: boolean; waitTimeoutMs: number; note: string | null }): Promise<TriggerResult> {
    const settings = this.settings();
    if (!settings.ok) return { outcome: "misconfigured", errors: settings.errors };
    const result = await this.coordinator().startRun({
      runId: manualRunId(Date.now()),
      trigger: "manual",
      scheduledFor: null,
      note: options.note,
      settings: settings.settings,
      ...(options.wait ? { waitMs: options.waitTimeoutMs } : {}),
    });
    switch (result.outcome) {
      case "conflict":
        return { outcome: "conflict", active: result.active };
      case "exists":
      case "skipped":
        // Same-millisecond triggers share an id: the later one loses, like any trigger during a run.
        return { outcome: "conflict", active: result.run };
      case "started":
        return { outcome: "started", run: result.run };
    }
  }

  /**
   * Replaces (PUT) or changes (PATCH) the schedule; kept in this agent's storage, so it survives restarts
   * and deploys. Slots before the change are not caught up on.
   */
  async updateSchedule(change: ScheduleChange, mode: "replace" | "merge"): Promise<ScheduleUpdate> {
    const settings = this.settings();
    if (!settings.ok) return { ok: false, reason: settings.errors.join("; ") };
    const base = mode === "merge" ? (this.spec() ?? settings.settings.schedule) : { ...settings.settings.schedule, cron: null, intervalMs: null, timezone: "UTC", enabled: true, missedRuns: "latest" as const, maxCatchUp: 10 };
    const result = applyScheduleChange(base, change);
    if (!result.ok) return result;
    this.sql`INSERT INTO schedule_config (id, spec) VALUES (1, ${JSON.stringify(result.spec)})
      ON CONFLICT (id) DO UPDATE SET spec = excluded.spec`;
    await this.restartFrom(Date.now());
    this.log("schedule_changed", { spec: result.spec });
    return { ok: true, schedule: (await this.describeSchedule())[0]! };
  }

  /** Back to the deployment's configuration (PIPELINE_CRON and PIPELINE_CONFIG.schedule). */
  async resetSchedule(): Promise<ScheduleView[]> {
    this.sql`DELETE FROM schedule_config`;
    await this.restartFrom(Date.now());
    this.log("schedule_reset", {});
    return this.describeSchedule();
  }

  async cancelRun(runId: string, reason: string): Promise<CancelResult> {
    return this.coordinator().cancelRun(runId, reason);
  }

  async getRun(runId: string): Promise<RunView | null> {
    return this.coordinator().getRun(runId);
  }

  async getRunJson(runId: string): Promise<string | null> {
    return this.coordinator().getRunJson(runId);
  }

  async getLastRunJson(): Promise<string> {
    return this.coordinator().getLastRunJson();
  }

  async getHistoryJson(limit: number, cursor: HistoryCursor | null): Promise<string> {
    return this.coordinator().getHistoryJson(limit, cursor);
  }

  async getStatsJson(windowMs: number | null): Promise<string> {
    return this.coordinator().getStatsJson(windowMs);
  }

  async listRejected(runId: string, afterPosition: number, limit: number): Promise<RejectedPage> {
    return this.coordinator().listRejected(runId, afterPosition, limit);
  }

  async getLastRun(): Promise<RunView | null> {
    return this.coordinator().getLastRun();
  }

  async getHistory(limit: number, cursor: HistoryCursor | null): Promise<HistoryPage> {
    return this.coordinator().getHistory(limit, cursor);
  }

  async describeSchedule(): Promise<ScheduleView[]> {
    const now = Date.now();
    const [state] = this.sql<{ execution_count: number; last_executed_at: number | null }>`
      SELECT execution_count, last_executed_at FROM schedule_state WHERE id = 1`;
    const armed = (await this.armedSlots()).sort((a, b) => a.slot - b.slot);
    const next = armed.find((entry) => entry.slot > now) ?? armed[0];
    const backlog = this.sql<{ slot: number }>`SELECT slot FROM schedule_backlog ORDER BY slot`.map((row) => row.slot);
    const settings = this.settings();
    const stored = this.storedSpec();
    const spec = stored ?? (settings.ok ? settings.settings.schedule : null);
    const identity = { id: next?.id ?? null, name: SCHEDULE_NAME, scheduleType: "recurring" as const };
    const history = { lastExecutedAt: state?.last_executed_at ?? null, executionCount: state?.execution_count ?? 0, backlog };
    const source = stored ? ("api" as const) : ("config" as const);
    if (!spec || !settings.ok) {
      const error = settings.ok ? "no schedule" : settings.errors.join("; ");
      return [
        { ...identity, cron: this.env.PIPELINE_CRON, every: null, timezone: "UTC", interval: null, enabled: false, missedRuns: "latest", maxCatchUp: 10, source, nextExecuteAt: null, ...history, error },
      ];
    }
    return [
      {
        ...identity,
        cron: spec.cron,
        every: spec.intervalMs === null ? null : formatInterval(spec.intervalMs),
        timezone: spec.timezone,
        interval: slotInterval(spec, now),
        enabled: spec.enabled,
        missedRuns: spec.missedRuns,
        maxCatchUp: spec.maxCatchUp,
        source,
        nextExecuteAt: spec.enabled ? (next?.slot ?? nextSlot(spec, now)) : null,
        ...history,
      },
    ];
  }

  /** Applies the missed-run policy to every slot due since the last one handled. */
  private async catchUp(spec: ScheduleSpec, now: number): Promise<void> {
    const plan = planCatchUp(spec, this.lastSlot(), now);
    if (plan.run.length === 0 && plan.skip.length === 0) return;
    const settings = this.settings();
    if (!settings.ok) {
      this.log("slot_not_run", { errors: settings.errors });
      return;
    }
    this.setLastSlot(Math.max(...plan.run, ...plan.skip));
    const coordinator = this.coordinator();
    for (const slot of plan.skip) {
      await coordinator.recordSkippedSlot({
        runId: scheduledRunId(slot),
        scheduledFor: slot,
        reason: `missed: the service did not run at the slot time (missed-run policy "${spec.missedRuns}")`,
        settings: settings.settings,
      });
    }
    if (plan.dropped > 0) this.log("slots_dropped", { dropped: plan.dropped, policy: spec.missedRuns });
    const [first, ...rest] = plan.run;
    if (first !== undefined) {
      const result = await coordinator.startRun({ runId: scheduledRunId(first), trigger: "scheduled", scheduledFor: first, settings: settings.settings });
      this.countExecution(first);
      this.log("slot_delivered", { slot: first, outcome: result.outcome });
    }
    if (rest.length > 0) {
      for (const slot of rest) this.sql`INSERT OR IGNORE INTO schedule_backlog (slot) VALUES (${slot})`;
      await this.schedule(BACKLOG_RETRY_SECONDS, BACKLOG_CALLBACK, undefined, { idempotent: true });
    }
  }

  private async armAfter(reference: number): Promise<void> {
    const spec = this.spec();
    const wanted = spec?.enabled ? nextSlot(spec, reference) : null;
    const plan = planArming(await this.armedSlots(), wanted, reference);
    for (const id of plan.cancel) await this.cancelSchedule(id);
    if (plan.arm !== null) {
      const payload: SlotPayload = { slot: plan.arm };
      await this.schedule(new Date(plan.arm), SLOT_CALLBACK, payload, { idempotent: true });
    }
  }

  /** After a change of schedule (or pause/resume), start counting from now: nothing before is "missed". */
  private async restartFrom(now: number): Promise<void> {
    this.setLastSlot(now);
    this.sql`DELETE FROM schedule_backlog`;
    await this.armAfter(now);
  }

  private async armedSlots(): Promise<ArmedSlot[]> {
    const schedules = await this.listSchedules();
    return schedules
      .filter((schedule) => schedule.callback === SLOT_CALLBACK)
      .map((schedule) => ({ id: schedule.id, slot: (schedule.payload as SlotPayload).slot }));
  }

  /** The schedule in force: set through the API, else the deployment's; null if the configuration is bad. */
  private spec(): ScheduleSpec | null {
    const stored = this.storedSpec();
    if (stored) return stored;
    const settings = this.settings();
    if (!settings.ok) {
      this.log("schedule_not_armed", { errors: settings.errors });
      return null;
    }
    return settings.settings.schedule;
  }

  private storedSpec(): ScheduleSpec | null {
    const [row] = this.sql<{ spec: string }>`SELECT spec FROM schedule_config WHERE id = 1`;
    return row ? (JSON.parse(row.spec) as ScheduleSpec) : null;
  }

  private lastSlot(): number | null {
    return this.sql<{ last_slot: number | null }>`SELECT last_slot FROM schedule_state WHERE id = 1`[0]?.last_slot ?? null;
  }

  private setLastSlot(slot: number): void {
    this.sql`UPDATE schedule_state SET last_slot = ${slot} WHERE id = 1 AND (last_slot IS NULL OR last_slot < ${slot})`;
  }

  private countExecution(slot: number): void {
    this.sql`UPDATE schedule_state SET execution_count = execution_count + 1, last_executed_at = ${Date.now()} WHERE id = 1`;
    this.log("slot_executed", { slot });
  }

  private settings(): { ok: true; settings: PipelineSettings } | { ok: false; errors: string[] } {
    return readSettings(this.env as unknown as Record<string, unknown>, this.name);
  }

  /** A plain stub: the SDK starts the coordinator (onStart, which resumes interrupted runs) before any call. */
  private coordinator() {
    return this.env.PipelineCoordinator.getByName(this.name);
  }

  private log(event: string, fields: Record<string, unknown>): void {
    logEvent(/not_run|not_armed|dropped/.test(event) ? "warn" : "info", { event, pipeline: this.name, ...fields });
  }
}
