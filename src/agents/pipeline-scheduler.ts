import { Agent } from "agents";
import { readSettings, type PipelineSettings } from "../config/settings";
import type { HistoryCursor } from "../domain/history";
import { manualRunId, scheduledRunId } from "../domain/run-ids";
import type { RunView } from "../domain/run";
import { nextSlot, planArming, slotInterval, type ArmedSlot } from "../domain/schedule";
import type { CancelResult, HistoryPage, RejectedPage } from "./pipeline-coordinator";

/** The callback the slot alarm invokes. A constant, because schedule rows store it by name. */
export const SLOT_CALLBACK = "runScheduledSlot";
export const SCHEDULE_NAME = "daily-etl-pipeline";

export interface SlotPayload {
  slot: number;
}

export interface ScheduleView {
  id: string | null;
  name: string;
  scheduleType: "recurring";
  cron: string;
  timezone: string;
  interval: number | null;
  enabled: boolean;
  nextExecuteAt: number | null;
  lastExecutedAt: number | null;
  executionCount: number;
  error?: string;
}

export type TriggerResult =
  | { outcome: "started"; run: RunView }
  | { outcome: "conflict"; active: RunView }
  | { outcome: "misconfigured"; errors: string[] };

/**
 * Owns a pipeline's recurring schedule and is the API's entry point. It arms one alarm per slot (the next
 * time the cron fires) and, when a slot fires, starts the run named after that slot on the coordinator.
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
    await this.armAfter(Date.now());
  }

  /**
   * Makes sure exactly one future slot is armed for the configured cron, and lets the coordinator check
   * its runs for stalls. Safe to call any number of times: the Worker's hourly cron calls it, so the
   * schedule exists after a deploy and an interrupted run is resumed even if nobody calls the API.
   */
  async ensureArmed(): Promise<ScheduleView[]> {
    await this.armAfter(Date.now());
    await this.coordinator().watchdog();
    return this.describeSchedule();
  }

  /** Invoked by the slot's alarm. Alarms are at-least-once, so every step tolerates a repeat. */
  async runScheduledSlot(payload: SlotPayload): Promise<void> {
    const slot = payload.slot;
    const now = Date.now();
    // Arm the next slot first: whatever happens to this run, the schedule carries on.
    await this.armAfter(Math.max(now, slot));
    this.sql`UPDATE schedule_state
      SET execution_count = execution_count + 1, last_slot = ${slot}, last_executed_at = ${now}
      WHERE id = 1 AND (last_slot IS NULL OR last_slot < ${slot})`;

    const settings = this.settings();
    if (!settings.ok) {
      this.log("slot_not_run", { slot, errors: settings.errors });
      return;
    }
    const coordinator = this.coordinator();
    const result = await coordinator.startRun({
      runId: scheduledRunId(slot),
      trigger: "scheduled",
      scheduledFor: slot,
      settings: settings.settings,
    });
    this.log("slot_delivered", { slot, outcome: result.outcome });
  }

  async trigger(options: { wait: boolean; waitTimeoutMs: number; note: string | null }): Promise<TriggerResult> {
    const settings = this.settings();
    if (!settings.ok) return { outcome: "misconfigured", errors: settings.errors };
    const coordinator = this.coordinator();
    const result = await coordinator.startRun({
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

  async cancelRun(runId: string, reason: string): Promise<CancelResult> {
    return this.coordinator().cancelRun(runId, reason);
  }

  async getRun(runId: string): Promise<RunView | null> {
    return this.coordinator().getRun(runId);
  }

  async listRejected(runId: string, afterPosition: number, limit: number): Promise<RejectedPage> {
    return this.coordinator().listRejected(runId, afterPosition, limit);
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
    const settings = this.settings();
    const armed = (await this.armedSlots()).sort((a, b) => a.slot - b.slot);
    const next = armed.find((entry) => entry.slot > now) ?? armed[0];
    const history = {
      lastExecutedAt: state?.last_executed_at ?? null,
      executionCount: state?.execution_count ?? 0,
    };
    const identity = { id: next?.id ?? null, name: SCHEDULE_NAME, scheduleType: "recurring" as const };
    if (!settings.ok) {
      return [
        {
          ...identity,
          cron: this.env.PIPELINE_CRON,
          timezone: "UTC",
          interval: null,
          enabled: false,
          nextExecuteAt: null,
          ...history,
          error: settings.errors.join("; "),
        },
      ];
    }
    const spec = settings.settings.schedule;
    return [
      {
        ...identity,
        cron: spec.cron,
        timezone: spec.timezone,
        interval: slotInterval(spec, now),
        enabled: true,
        nextExecuteAt: next?.slot ?? nextSlot(spec, now),
        ...history,
      },
    ];
  }

  private async armAfter(reference: number): Promise<void> {
    const settings = this.settings();
    const wanted = settings.ok ? nextSlot(settings.settings.schedule, reference) : null;
    if (!settings.ok) this.log("schedule_not_armed", { errors: settings.errors });
    const plan = planArming(await this.armedSlots(), wanted, reference);
    for (const id of plan.cancel) await this.cancelSchedule(id);
    if (plan.arm !== null) {
      const payload: SlotPayload = { slot: plan.arm };
      await this.schedule(new Date(plan.arm), SLOT_CALLBACK, payload, { idempotent: true });
    }
  }

  private async armedSlots(): Promise<ArmedSlot[]> {
    const schedules = await this.listSchedules();
    return schedules
      .filter((schedule) => schedule.callback === SLOT_CALLBACK)
      .map((schedule) => ({ id: schedule.id, slot: (schedule.payload as SlotPayload).slot }));
  }

  private settings(): { ok: true; settings: PipelineSettings } | { ok: false; errors: string[] } {
    return readSettings(this.env as unknown as Record<string, unknown>, this.name);
  }

  /** A plain stub: the SDK starts the coordinator (onStart, which resumes interrupted runs) before any call. */
  private coordinator() {
    return this.env.PipelineCoordinator.getByName(this.name);
  }

  private log(event: string, fields: Record<string, unknown>): void {
    console.log(JSON.stringify({ event, pipeline: this.name, ...fields }));
  }
}
