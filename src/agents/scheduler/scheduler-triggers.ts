import type { EventName } from "../../observability/events";
import { localIso } from "../../domain/local-time";
import { scheduledRunId } from "../../domain/run-ids";
import type { ObjectArrival } from "../../domain/object-notifications";
import type { TriggeredRun } from "../../domain/triggered-run";
import type { UpstreamSlot, WaitingFor } from "../../domain/upstream-gate";
import type { SlotWindow } from "../../domain/upstream-window";
import { defaultParams } from "../../engine/params";
import type { PipelineSettings } from "../../engine/settings";
import { resolveTriggers, type TriggerSettings } from "../../engine/triggers";
import { deployment } from "../../pipelines";
import type { Sql } from "../coordinator/run-store";
import { CascadeReceiver, type CascadeReport } from "./cascade-receiver";
import { EVENTS_CALLBACK, EventIntake } from "./event-intake";
import { EventStore } from "./event-store";
import { ObjectIntake, objectStatesOf, objectTriggerOf } from "./object-intake";
import { ObjectStore } from "./object-store";
import { UpstreamWaits } from "./upstream-waits";
import { WaitingStore } from "./waiting-store";

/** Callbacks of the triggers' alarms (methods of the scheduler). Constants: schedule rows store them by name. */
export const WAITING_CALLBACK = "checkWaiting";
export const OBJECTS_CALLBACK = "admitObjects";
export { EVENTS_CALLBACK };

/** Upstream slots one window may hold (a day of a one-minute upstream is 1,440). */
const MAX_WINDOW_SLOTS = 5_000;

type Settings = { ok: true; settings: PipelineSettings } | { ok: false; errors: string[]; removed?: boolean };

/** What the triggers need of their scheduler: its storage and alarms, its settings, its coordinator. */
export interface TriggersHost {
  env: Env;
  sql: Sql;
  name(): string;
  settings(): Settings;
  listSchedules(): Promise<{ id: string; callback: string; time: number; payload?: unknown }[]>;
  schedule(when: Date | number, callback: string): Promise<unknown>;
  cancelSchedule(id: string): Promise<unknown>;
  /** Raises `upstream_late` for a slot (once). */
  alertLate(slot: number, waitingFor: string, waitMs: number): Promise<void>;
  countExecution(slot: number): void;
  log(event: EventName, fields: Record<string, unknown>): void;
}

/**
 * What starts a pipeline's runs besides its clock, on the scheduler's side: slots waiting for their
 * upstream, cascades reaching the pipeline, objects landing, events posted. Each part has its own store in
 * the scheduler's SQLite and its own alarm; this class wires them to the scheduler and its coordinator.
 */
export class SchedulerTriggers {
  private readonly waitingStore: WaitingStore;
  private readonly objectStore: ObjectStore;
  private readonly eventStore: EventStore;
  readonly waits: UpstreamWaits;
  readonly cascades: CascadeReceiver;
  readonly objects: ObjectIntake;
  readonly events: EventIntake;

  constructor(private readonly host: TriggersHost) {
    this.waitingStore = new WaitingStore(host.sql);
    this.objectStore = new ObjectStore(host.sql);
    this.eventStore = new EventStore(host.sql);
    const log = (event: EventName, fields: Record<string, unknown>) => host.log(event, fields);
    this.waits = new UpstreamWaits({
      store: this.waitingStore,
      current: () => this.current(),
      upstreamSlots: (pipeline, window) => this.upstreamSlots(pipeline, window),
      startSlot: async ({ slot, trigger, lineage, settings }) => {
        const result = await this.coordinator().startRun({ runId: scheduledRunId(slot), trigger, scheduledFor: slot, lineage, settings, ifIdle: true });
        if (result.outcome === "started") host.countExecution(slot);
        return result;
      },
      recordSkipped: (slot, reason, settings) => this.coordinator().recordSkippedSlot({ runId: scheduledRunId(slot), scheduledFor: slot, reason, settings }),
      alertLate: (slot, waitingFor, waitMs) => host.alertLate(slot, waitingFor, waitMs),
      checkAt: (at) => this.checkWaitingAt(at),
      log,
    });
    this.cascades = new CascadeReceiver({
      store: this.waitingStore,
      pipeline: () => host.name(),
      current: () => {
        const current = this.current();
        const pipeline = deployment.find(host.name());
        return current && pipeline ? { ...current, params: defaultParams(pipeline) } : null;
      },
      verdict: (slot, settings, triggers) => this.waits.verdict(slot, settings, triggers),
      latestSuccess: async (slot) => {
        const coordinator = this.coordinator();
        const executed = (await coordinator.getSlotRecords(slot, slot + 1)).records[0]?.executed ?? null;
        if (executed?.status !== "succeeded") return null;
        const run = await coordinator.getRun(executed.runId);
        return run ? { runId: run.pipelineId, consumed: run.lineage.upstream } : null;
      },
      startBackfill: (request) => this.coordinator().startBackfill(request),
      retryAt: (at) => this.checkWaitingAt(at),
      log,
    });
    this.objects = new ObjectIntake({
      store: this.objectStore,
      current: () => objectTriggerOf(host.settings(), deployment.find(host.name())),
      objectStates: (settings, objects) => objectStatesOf(host.env as unknown as Record<string, unknown>, deployment.find(host.name())!, settings, objects),
      startRun: (request) => this.coordinator().startRun({ ...request, trigger: "object", scheduledFor: null }),
      alarms: {
        armed: async () => (await host.listSchedules()).filter((schedule) => schedule.callback === OBJECTS_CALLBACK),
        arm: async (at) => void (await host.schedule(at, OBJECTS_CALLBACK)),
        cancel: async (id) => void (await host.cancelSchedule(id)),
      },
      log,
    });
    this.events = new EventIntake({
      store: this.eventStore,
      current: () => {
        const settings = host.settings();
        if (!settings.ok) return { ok: false, errors: settings.errors };
        return { ok: true, settings: settings.settings, window: resolveTriggers(deployment.find(host.name())!.triggers, settings.settings.schedule).events };
      },
      startRun: (request) => this.coordinator().startRun(request),
      getRun: (runId) => this.coordinator().getRun(runId),
      listSchedules: () => host.listSchedules(),
      schedule: (when, callback) => host.schedule(when, callback),
      cancelSchedule: (id) => host.cancelSchedule(id),
      log,
    });
  }

  migrate(): void {
    this.waitingStore.migrate();
    this.objectStore.migrate();
    this.eventStore.migrate();
  }

  /** After a restart: slots that waited, and cascades not started, are looked at again soon. */
  async started(now: number): Promise<void> {
    if (this.waitingStore.hasWaiting() || this.waitingStore.pendingCascades().length > 0) await this.checkWaitingAt(now + 1_000);
    await this.objects.wake(now);
  }

  /** Whether the pipeline's slots wait for an upstream (they are held, not started, when due). */
  gated(): boolean {
    const current = this.current();
    return current !== null && current.triggers.wait !== null;
  }

  /** The hourly check, and the recheck alarm: everything that waits is looked at again. */
  async review(now: number, { events = true } = {}): Promise<void> {
    await this.waits.review(now, "check");
    await this.cascades.startReady(now);
    await this.objects.wake(now);
    if (events) await this.events.startDue();
  }

  /** An upstream run of a slot succeeded: the waiting slots are looked at now. A stale notice changes nothing. */
  async upstreamSucceeded(notice: { pipeline: string; slot: number; runId: string }): Promise<void> {
    if (!this.waitingStore.hasWaiting()) return;
    this.host.log("upstream_notified", { upstream: notice.pipeline, slot: notice.slot, runId: notice.runId });
    await this.waits.review(Date.now(), "upstream");
  }

  async cascadeReported(report: CascadeReport): Promise<void> {
    await this.cascades.report(report, Date.now());
  }

  async objectsArrived(arrivals: ObjectArrival[]): Promise<{ received: number; repeated: number }> {
    return this.objects.arrived(arrivals, Date.now());
  }

  arrivedObjects(limit: number) {
    return this.objectStore.all(limit);
  }

  waiting(timezone: string): { scheduledFor: number; scheduledForLocal: string; since: number; waitingFor: WaitingFor[] }[] {
    return this.waitingStore.waiting().map((entry) => ({ scheduledFor: entry.slot, scheduledForLocal: localIso(entry.slot, timezone), since: entry.since, waitingFor: entry.waitingFor }));
  }

  /** Runs of [from, to) that objects or events started, oldest first. */
  triggeredRuns(from: number, to: number): TriggeredRun[] {
    return [...this.objects.runs(from, to), ...this.events.runs(from, to)].sort((a, b) => a.admittedAt - b.admittedAt);
  }

  /** The settings with the schedule in force and the triggers read against it; null when the pipeline cannot run. */
  private current(): { settings: PipelineSettings; triggers: TriggerSettings } | null {
    const settings = this.host.settings();
    if (!settings.ok) return null;
    return { settings: settings.settings, triggers: resolveTriggers(deployment.find(this.host.name())!.triggers, settings.settings.schedule) };
  }

  /** An upstream's ledger over a window, as the gate reads it: a paused slot is not waited for. */
  private async upstreamSlots(pipeline: string, window: SlotWindow): Promise<UpstreamSlot[] | { problem: string }> {
    if (!deployment.find(pipeline)) {
      const invalid = deployment.invalidNamed(pipeline);
      return { problem: invalid ? `its definition is invalid (${invalid.errors.join("; ")})` : "it is not defined in this deployment" };
    }
    let ledger: Awaited<ReturnType<DurableObjectStub<import("../pipeline-scheduler").PipelineScheduler>["slots"]>>;
    try {
      ledger = await this.host.env.PipelineScheduler.getByName(pipeline).slots({ from: { at: window.from }, to: { at: window.to }, max: MAX_WINDOW_SLOTS });
    } catch (error) {
      // Looked at again at the next recheck; meanwhile the slot waits, saying why.
      return { problem: `its slot ledger could not be read (${error instanceof Error ? error.message : String(error)})` };
    }
    if (!ledger.ok) return { problem: ledger.reason };
    return ledger.slots.map((entry) => ({ scheduledFor: entry.scheduledFor, state: entry.state, runId: entry.runId, status: entry.status, expected: !(entry.state === "skipped" && entry.runId === null) }));
  }

  /** Arms the recheck of waiting slots at `at`, unless one is armed sooner already. */
  private async checkWaitingAt(at: number): Promise<void> {
    const now = Date.now();
    const pending = (await this.host.listSchedules()).filter((schedule) => schedule.callback === WAITING_CALLBACK && schedule.time * 1000 > now);
    if (pending.some((schedule) => schedule.time * 1000 <= at)) return;
    for (const schedule of pending) await this.host.cancelSchedule(schedule.id);
    await this.host.schedule(new Date(Math.max(at, now + 1_000)), WAITING_CALLBACK);
  }

  /** A plain stub: the SDK starts the coordinator (onStart, which resumes interrupted runs) before any call. */
  private coordinator() {
    return this.host.env.PipelineCoordinator.getByName(this.host.name());
  }
}
