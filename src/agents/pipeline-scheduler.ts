import type { EventName } from "../observability/events";
import { Agent } from "agents";
import { MAX_BACKFILL_SLOTS, type ReprocessPolicy } from "../domain/backfill";
import type { RunParams } from "../domain/run";
import { backfillId, manualRunId, scheduledRunId } from "../domain/run-ids";
import type { RunView } from "../domain/run-view";
import { formatInterval, nextSlot, planCatchUp, slotsInRange, type ScheduleSpec } from "../domain/schedule";
import { sameSpec } from "../domain/schedule-periods";
import { applyScheduleChange, type ScheduleChange } from "../domain/schedule-change";
import { DEFAULT_PIPELINE } from "../engine/deployment";
import { deployment } from "../pipelines";
import { declaredSchedule, resolveSettings, type PipelineSettings } from "../engine/settings";
import { passedOn } from "./rpc-result";
import { logEvent } from "../observability/log";
import type { Sql } from "./coordinator/run-store";
import type { BackfillStart } from "./coordinator/backfill-runner";
import { SLOT_CALLBACK, SlotAlarm, type SlotPayload } from "./scheduler/slot-alarm";
import { scheduleHealth, scheduleView, type ScheduleHealth, type ScheduleView } from "./scheduler/schedule-view";
import { ScheduleStore } from "./scheduler/schedule-store";
import { SlotWatch, type DeliveryPayload, type LedgerResult } from "./scheduler/slot-watch";
import { localIso, resolveTime, type TimeInput } from "../domain/local-time";
import type { WaitingFor } from "../domain/upstream-gate";
import type { CascadeReport } from "./scheduler/cascade-receiver";
import type { ObjectArrival } from "../domain/object-notifications";
import type { StoredArrival } from "./scheduler/object-store";
import type { EventReceipt, EventRequest, EventView } from "./scheduler/event-intake";
import { EVENTS_CALLBACK, OBJECTS_CALLBACK, SchedulerTriggers, WAITING_CALLBACK } from "./scheduler/scheduler-triggers";

/** Callbacks the scheduler's alarms invoke. Constants, because schedule rows store them by name. */
export { SLOT_CALLBACK };
export const BACKLOG_CALLBACK = "drainBacklog";
export const DEADLINE_CALLBACK = "checkDeadlines";
export const DELIVERY_CALLBACK = "deliverSlotAlert";
export { EVENTS_CALLBACK, OBJECTS_CALLBACK, WAITING_CALLBACK };
/** The seed's name for the default pipeline's schedule. */
export const SEED_SCHEDULE_NAME = "daily-etl-pipeline";
/** How often a backlog of missed slots (policy "all") tries to start its next run. */
const BACKLOG_RETRY_SECONDS = 15;

export type { ScheduleHealth, ScheduleView };

export type TriggerResult =
  | { outcome: "started"; run: RunView }
  | { outcome: "conflict"; active: RunView }
  | { outcome: "misconfigured"; errors: string[] };

export type ScheduleUpdate = { ok: true; schedule: ScheduleView } | { ok: false; reason: string };

/** Why a backfill or a ledger request is refused, as the API's error code. */
export type RangeProblem = "invalid_body" | "invalid_query" | "invalid_range" | "too_many_slots";

/** The ledger's default range: the last seven days. */
const LEDGER_SPAN_MS = 7 * 86_400_000;

export type BackfillResult = BackfillStart | { outcome: "invalid"; code: RangeProblem; reason: string } | { outcome: "misconfigured"; errors: string[] };

type Settings = { ok: true; settings: PipelineSettings } | { ok: false; errors: string[]; removed?: boolean };

/**
 * Owns a pipeline's schedule (one instance per pipeline, named after it) and starts its runs. It arms one
 * alarm per slot (the next time the schedule fires) and, when a slot fires, starts the run named after
 * that slot on the coordinator. Slots that passed unseen (the service was down, an alarm was lost) go
 * through the missed-run policy. A pipeline removed from the code is disarmed the next time its scheduler
 * wakes, so no alarm fires into a missing definition.
 */
export class PipelineScheduler extends Agent<Env> {
  private readonly store = new ScheduleStore(this.sql.bind(this) as unknown as Sql);
  private readonly slotAlarm = new SlotAlarm({
    store: this.store,
    listSchedules: () => this.listSchedules(),
    schedule: (when, callback, payload) => this.schedule(when, callback as keyof this & string, payload, { idempotent: true }),
    cancelSchedule: (id) => this.cancelSchedule(id),
    getAlarm: () => this.ctx.storage.getAlarm(),
    defined: () => deployment.find(this.name) !== undefined,
    log: (event, fields) => this.log(event, fields),
  });
  private readonly triggers = new SchedulerTriggers({
    env: this.env,
    sql: this.sql.bind(this) as unknown as Sql,
    name: () => this.name,
    settings: () => this.settings(),
    listSchedules: () => this.listSchedules(),
    schedule: (when, callback) => this.schedule(when, callback as keyof this & string),
    cancelSchedule: (id) => this.cancelSchedule(id),
    alertLate: (slot, waitingFor, waitMs) => this.watch.raise("upstream_late", [{ scheduledFor: slot, runId: null, status: null, waitingFor }], waitMs, Date.now()),
    countExecution: (slot) => this.countExecution(slot),
    log: (event, fields) => this.log(event, fields),
  });
  private readonly watch = new SlotWatch({
    env: this.env,
    store: this.store,
    pipeline: () => this.name,
    slotRecords: (from, to, limit) => this.coordinator().getSlotRecords(from, to, limit),
    settings: () => this.settings(),
    waiting: () => this.triggers.waits.waitingFor(),
    triggeredRuns: (from, to) => this.triggers.triggeredRuns(from, to),
    scheduleDelivery: async (payload) => void (await this.schedule(0, DELIVERY_CALLBACK, payload, { retry: { maxAttempts: 1 } })),
    log: (event, fields) => this.log(event, fields),
  });

  override async onStart(): Promise<void> {
    this.store.migrate();
    this.triggers.migrate();
    // A scheduler owes nothing from before it existed: slots are counted from its first start.
    if (this.store.lastSlot() === null) this.store.advanceLastSlot(Date.now());
    this.notePeriod(Date.now());
    await this.armAfter(Date.now());
    // Slots that waited when the service stopped are looked at again soon after it starts.
    await this.triggers.started(Date.now());
  }

  /**
   * Makes sure exactly one future slot is armed, catches up on slots that passed unseen, and lets the
   * coordinator check its runs for stalls. Safe to call any number of times: the Worker's hourly cron
   * calls it for every pipeline, so schedules exist after a deploy and nothing waits for an API call.
   */
  async ensureArmed(): Promise<ScheduleView[]> {
    const now = Date.now();
    this.notePeriod(now);
    const spec = this.spec();
    // A due slot whose alarm is about to fire will be handled by it; otherwise look for lost ones.
    const due = (await this.slotAlarm.armed()).some((entry) => entry.slot <= now);
    if (spec && !due) await this.catchUp(spec, now);
    await this.slotAlarm.verify(spec, now);
    await this.armAfter(now);
    if (deployment.find(this.name)) {
      await this.coordinator().watchdog();
      await this.triggers.review(now);
      await this.watch.judge(now);
    }
    this.store.setMeta("last_check_at", now);
    return this.describeSchedule();
  }

  /** From the alarm set at a slot's deadline: judges the slots whose deadline has passed. */
  async checkDeadlines(): Promise<void> {
    if (deployment.find(this.name)) await this.watch.judge(Date.now());
  }

  /**
   * An upstream run of a slot succeeded: the slots waiting for their upstream are looked at again now
   * (they would be within a minute anyway). A repeated or stale notice changes nothing.
   */
  async upstreamSucceeded(notice: { pipeline: string; slot: number; runId: string }): Promise<void> {
    await this.triggers.upstreamSucceeded(notice);
  }

  /** An upstream's backfill of a cascade ended: this pipeline backfills what consumed it, once all its upstreams in the cascade have. */
  async cascadeReported(report: CascadeReport): Promise<void> {
    await this.triggers.cascadeReported(report);
  }

  /** The slots waiting for their upstream, oldest first, with what each waits for. */
  async waitingSlots(): Promise<{ scheduledFor: number; scheduledForLocal: string; since: number; waitingFor: WaitingFor[] }[]> {
    return this.triggers.waiting(this.spec()?.timezone ?? "UTC");
  }

  /** From the recheck alarm: the waiting slots and the cascades not yet started are looked at again. */
  async checkWaiting(): Promise<void> {
    if (deployment.find(this.name)) await this.triggers.review(Date.now(), { events: false });
  }

  /** From an alarm: posts a lateness alert. */
  async deliverSlotAlert(payload: DeliveryPayload): Promise<void> {
    await this.watch.deliver(payload);
  }

  /** Objects landed in R2 (from the queue consumer): each is known once; they start one run after the debounce. */
  async objectsArrived(arrivals: ObjectArrival[]): Promise<{ received: number; repeated: number }> {
    return this.triggers.objectsArrived(arrivals);
  }

  /** From the alarm: objects whose debounce has passed start their run. */
  async admitObjects(): Promise<void> {
    await this.triggers.objects.admit(Date.now());
  }

  /** The objects notifications told this pipeline of, newest first, with what became of each. */
  async arrivedObjects(limit = 100): Promise<StoredArrival[]> {
    return this.triggers.arrivedObjects(limit);
  }

  /** An event posted to the API (params checked by the route): stored, then its run started when due. */
  async receiveEvent(request: EventRequest): Promise<EventReceipt> {
    return this.triggers.events.receive(request);
  }

  /** One event posted to the API, with its run once started. */
  async describeEvent(id: string): Promise<{ event: EventView; run: RunView | null } | null> {
    return this.triggers.events.describe(id);
  }

  /** From the alarm: event runs that are due start (one at a time, while the pipeline is free). */
  async startDueEvents(): Promise<void> {
    await this.triggers.events.startDue();
  }

  /**
   * Backfills [from, to): this pipeline's own slots in the range (its schedule, in its time zone), run one
   * at a time by the coordinator once the pipeline is free. At most MAX_BACKFILL_SLOTS slots.
   */
  async backfill(request: { from: TimeInput; to: TimeInput; reprocess: ReprocessPolicy; params: RunParams; cascade?: boolean }): Promise<BackfillResult> {
    const settings = this.settings();
    if (!settings.ok) return { outcome: "misconfigured", errors: settings.errors };
    const spec = settings.settings.schedule;
    // A day is the pipeline's day: it starts at midnight in the schedule's zone.
    const from = resolveTime(request.from, spec.timezone);
    const to = resolveTime(request.to, spec.timezone);
    if (from >= to) return { outcome: "invalid", code: "invalid_body", reason: "invalid body: from: from must be before to" };
    const { slots, more } = slotsInRange(spec, from, to, MAX_BACKFILL_SLOTS);
    const range = `[${localIso(from, spec.timezone)}, ${localIso(to, spec.timezone)})`;
    if (more) return { outcome: "invalid", code: "too_many_slots", reason: `${range} holds more than ${MAX_BACKFILL_SLOTS} slots of this pipeline's schedule; backfill at most ${MAX_BACKFILL_SLOTS} at a time` };
    if (slots.length === 0) return { outcome: "invalid", code: "invalid_range", reason: `${range} holds no slot of this pipeline's schedule (${describeSpec(spec)})` };
    const future = slots.find((slot) => slot > Date.now());
    if (future !== undefined) return { outcome: "invalid", code: "invalid_range", reason: `${range} holds slots still to come (the first at ${localIso(future, spec.timezone)}); a backfill runs past slots, the schedule runs the rest` };
    const id = backfillId(Date.now());
    // A cascade reaches every pipeline downstream of this one, in dependency order.
    const cascade = request.cascade ? { root: id, closure: [this.name, ...deployment.downstreamClosure(this.name)] } : null;
    return passedOn(await this.coordinator().startBackfill({ backfillId: id, from, to, reprocess: request.reprocess, params: request.params, slots, timezone: spec.timezone, cascade }));
  }

  /**
   * The slot ledger of [from, to): every slot the schedule expected, and what became of it. By default the
   * seven days up to just after the next slot; days are the pipeline's.
   */
  async slots(request: { from: TimeInput | null; to: TimeInput | null; max: number }): Promise<LedgerResult> {
    const now = Date.now();
    const spec = this.spec();
    const timezone = spec?.timezone ?? this.store.periods().at(-1)?.spec.timezone ?? "UTC";
    const to = request.to === null ? ((spec ? nextSlot(spec, now) : null) ?? now) + 1 : resolveTime(request.to, timezone);
    // The range's end is excluded, so the earliest one that can hold a slot is just after 1970-01-01.
    if (to <= 0) return { ok: false, code: "invalid_query", reason: "invalid query: to: must be after 1970-01-01T00:00:00Z (the range's end is excluded)" };
    // The default start never reaches before the earliest instant the API takes.
    const from = request.from === null ? Math.max(0, to - LEDGER_SPAN_MS) : resolveTime(request.from, timezone);
    if (from >= to) return { ok: false, code: "invalid_query", reason: "invalid query: from must be before to" };
    return this.watch.ledger(from, to, request.max, now, timezone);
  }

  /** The first slot after `after` of the schedule in force (null: paused, or none). */
  async nextSlotAfter(after: number): Promise<number | null> {
    const spec = this.spec();
    return spec ? nextSlot(spec, after) : null;
  }

  async health(): Promise<ScheduleHealth> {
    return scheduleHealth(this.store);
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
    // The slot is judged when its deadline passes (the hourly check does it too, should this alarm be lost).
    // One alarm per slot (the payload tells them apart: the SDK matches schedules by callback and payload).
    if (spec.deadlineMs !== null) await this.schedule(new Date(payload.slot + spec.deadlineMs + 1_000), DEADLINE_CALLBACK, { slot: payload.slot }, { idempotent: true });
  }

  /** Runs the oldest missed slot waiting in the backlog once no run is active. */
  async drainBacklog(): Promise<void> {
    const [next] = this.store.backlog();
    if (next === undefined) return;
    const settings = this.settings();
    if (!settings.ok) return;
    const result = await this.coordinator().startRun({ runId: scheduledRunId(next), trigger: "scheduled", scheduledFor: next, settings: settings.settings, ifIdle: true });
    // "queued": a backfill run is active, and the coordinator keeps the slot until it ends.
    if (result.outcome !== "conflict") {
      this.store.removeFromBacklog(next);
      this.countExecution(next);
    }
    // Not idempotent: this runs inside the backlog's own alarm, whose row an idempotent request would match
    // (the SDK matches by callback and payload) and which is deleted when this returns.
    if (this.store.backlog().length > 0) await this.schedule(result.outcome === "conflict" ? BACKLOG_RETRY_SECONDS : 1, BACKLOG_CALLBACK);
  }

  async trigger(options: { wait: boolean; waitTimeoutMs: number; note: string | null; params: RunParams }): Promise<TriggerResult> {
    const settings = this.settings();
    if (!settings.ok) return { outcome: "misconfigured", errors: settings.errors };
    const result = await this.coordinator().startRun({
      runId: manualRunId(Date.now()),
      trigger: "manual",
      scheduledFor: null,
      note: options.note,
      params: options.params,
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
      case "queued":
      case "covered":
        throw new Error(`a manual run is never ${result.outcome}`);
    }
  }

  /**
   * Replaces (PUT) or changes (PATCH) the schedule; kept in this agent's storage, so it survives restarts
   * and deploys. Slots before the change are not caught up on.
   */
  async updateSchedule(change: ScheduleChange, mode: "replace" | "merge"): Promise<ScheduleUpdate> {
    const settings = this.settings();
    if (!settings.ok) return { ok: false, reason: settings.errors.join("; ") };
    const configured = settings.settings.schedule;
    const base = mode === "merge" ? configured : { ...configured, cron: null, intervalMs: null, timezone: "UTC", enabled: true, missedRuns: "latest" as const, maxCatchUp: 10 };
    const result = applyScheduleChange(base, change);
    if (!result.ok) return result;
    this.store.storeSpec(result.spec);
    this.notePeriod(Date.now());
    await this.restartFrom(Date.now());
    this.log("schedule_changed", { spec: result.spec });
    return { ok: true, schedule: (await this.describeSchedule())[0]! };
  }

  /**
   * Pauses or resumes the schedule in force. A schedule set through the API keeps being the API's; the
   * pipeline's own stays its own (only its pause is kept here), so its source and a later change of its
   * definition still show through.
   */
  async setEnabled(enabled: boolean): Promise<ScheduleUpdate> {
    if (this.store.storedSpec()) return this.updateSchedule({ enabled }, "merge");
    const settings = this.settings();
    if (!settings.ok) return { ok: false, reason: settings.errors.join("; ") };
    if (enabled) this.store.deleteMeta("own_schedule_paused");
    else this.store.setMeta("own_schedule_paused", Date.now());
    this.notePeriod(Date.now());
    await this.restartFrom(Date.now());
    this.log("schedule_changed", { enabled });
    return { ok: true, schedule: (await this.describeSchedule())[0]! };
  }

  /** Back to the pipeline's own schedule (its definition and variables), running. */
  async resetSchedule(): Promise<ScheduleView[]> {
    this.store.clearSpec();
    this.store.deleteMeta("own_schedule_paused");
    this.notePeriod(Date.now());
    await this.restartFrom(Date.now());
    this.log("schedule_reset", {});
    return this.describeSchedule();
  }

  async describeSchedule(): Promise<ScheduleView[]> {
    const settings = this.settings();
    const stored = this.store.storedSpec();
    const spec = settings.ok ? settings.settings.schedule : null;
    const view = scheduleView({
      name: this.name === DEFAULT_PIPELINE ? SEED_SCHEDULE_NAME : this.name,
      spec: spec && settings.ok ? { ok: true, spec } : { ok: false, error: settings.ok ? "no schedule" : settings.errors.join("; ") },
      configured: this.configuredSchedule(),
      source: stored ? "api" : "config",
      armed: await this.slotAlarm.armed(),
      state: this.store.state(),
      backlog: this.store.backlog(),
      now: Date.now(),
    });
    return [view];
  }

  /** The pipeline's own schedule, paused if it was paused here. */
  private ownSchedule(declared: ScheduleSpec): ScheduleSpec {
    return this.store.meta("own_schedule_paused") === null ? declared : { ...declared, enabled: false };
  }

  /** What the pipeline declares for its schedule (its variables read as far as they can be), to show when it cannot be resolved. */
  private configuredSchedule(): { cron: string | null; every: string | null; timezone: string } | undefined {
    const pipeline = deployment.find(this.name);
    if (pipeline) return declaredSchedule(pipeline, this.env as unknown as Record<string, unknown>);
    return deployment.invalidNamed(this.name)?.declared;
  }

  /** Applies the missed-run policy to every slot due since the last one handled. */
  private async catchUp(spec: ScheduleSpec, now: number): Promise<void> {
    const plan = planCatchUp(spec, this.store.lastSlot(), now);
    if (plan.run.length === 0 && plan.skip.length === 0) return;
    const settings = this.settings();
    if (!settings.ok) {
      this.log("slot_not_run", { errors: settings.errors });
      return;
    }
    this.store.advanceLastSlot(Math.max(...plan.run, ...plan.skip));
    // A slot that waits for its upstream is held in the same step as the last slot moves on, so a restart
    // between the two never loses it; it starts when its upstream is in (in order, one run at a time).
    const gated = this.triggers.gated();
    if (gated) this.triggers.waits.held(plan.run, now);
    const coordinator = this.coordinator();
    for (const slot of plan.skip) {
      await coordinator.recordSkippedSlot({ runId: scheduledRunId(slot), scheduledFor: slot, reason: `missed: the service did not run at the slot time (missed-run policy "${spec.missedRuns}")`, settings: settings.settings });
    }
    if (plan.dropped > 0) this.log("slots_dropped", { dropped: plan.dropped, policy: spec.missedRuns });
    if (gated) {
      await this.triggers.waits.review(now, "slot");
      return;
    }
    const [first, ...rest] = plan.run;
    if (first !== undefined) {
      const result = await coordinator.startRun({ runId: scheduledRunId(first), trigger: "scheduled", scheduledFor: first, settings: settings.settings });
      this.countExecution(first);
      this.log("slot_delivered", { slot: first, outcome: result.outcome });
    }
    if (rest.length > 0) {
      this.store.addToBacklog(rest);
      await this.schedule(BACKLOG_RETRY_SECONDS, BACKLOG_CALLBACK, undefined, { idempotent: true });
    }
  }

  private async armAfter(reference: number): Promise<void> {
    await this.slotAlarm.armAfter(this.spec(), reference);
  }

  /** A change of the schedule in force (through the API, or by a deploy) starts a new period of the ledger. */
  private notePeriod(now: number): void {
    const spec = this.spec();
    if (!spec) return;
    const last = this.store.periods().at(-1);
    if (!last || !sameSpec(last.spec, spec)) this.store.addPeriod(now, spec);
  }

  /** After a change of schedule (or pause/resume), start counting from now: nothing before is "missed". */
  private async restartFrom(now: number): Promise<void> {
    this.store.resetLastSlot(now);
    this.store.clearBacklog();
    await this.armAfter(now);
    // Held slots stay held (a pause keeps them from starting); resumed, they are looked at again.
    await this.triggers.started(now);
  }

  /** The schedule in force: set through the API, else the pipeline's own; null if it is misconfigured or removed. */
  private spec(): ScheduleSpec | null {
    const settings = this.settings();
    if (!settings.ok) {
      this.log(settings.removed ? "pipeline_removed" : "schedule_not_armed", { errors: settings.errors });
      return null;
    }
    return settings.settings.schedule;
  }

  private countExecution(slot: number): void {
    this.store.countExecution(Date.now());
    this.log("slot_executed", { slot });
  }

  /**
   * The pipeline's settings with the schedule in force (one set through the API wins over the file's), so
   * every run this scheduler starts reads `{{slot.date}}` in the time zone its slots are counted in.
   */
  private settings(): Settings {
    const pipeline = deployment.find(this.name);
    const invalid = deployment.invalidNamed(this.name);
    if (invalid) return { ok: false, errors: invalid.errors };
    if (!pipeline) return { ok: false, removed: true, errors: [`pipeline ${this.name} is no longer defined in this deployment`] };
    const resolved = resolveSettings(pipeline, this.env as unknown as Record<string, unknown>);
    if (!resolved.ok) return resolved;
    return { ok: true, settings: { ...resolved.settings, schedule: this.store.storedSpec() ?? this.ownSchedule(resolved.settings.schedule) } };
  }

  /** A plain stub: the SDK starts the coordinator (onStart, which resumes interrupted runs) before any call. */
  private coordinator() {
    return this.env.PipelineCoordinator.getByName(this.name);
  }

  private log(event: EventName, fields: Record<string, unknown>): void {
    logEvent(event, { pipeline: this.name, ...fields });
  }
}

function describeSpec(spec: ScheduleSpec): string {
  return spec.cron !== null ? `cron ${JSON.stringify(spec.cron)} in ${spec.timezone}` : `every ${formatInterval(spec.intervalMs!)}`;
}
