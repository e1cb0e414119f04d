import { BACKFILL_END_EVENTS, type EventName } from "../../observability/events";
import {
  cancelBackfill,
  coveredReason,
  needsAlert,
  nextPendingSlot,
  owesCascadeNotice,
  selectSlots,
  settle,
  slotCovered,
  slotEnded,
  slotRestarted,
  slotStarted,
  type Backfill,
  type CascadeOrigin,
  type ReprocessPolicy,
} from "../../domain/backfill";
import { emptyLineage, type Lineage, type Run, type RunParams } from "../../domain/run";
import type { ConsumedRun } from "../../domain/upstream-gate";
import { backfillRunId } from "../../domain/run-ids";
import type { RunView } from "../../domain/run-view";
import type { PipelineSettings } from "../../engine/settings";
import type { BackfillStore } from "./backfill-store";
import type { RunStore } from "./run-store";

export interface BackfillRequest {
  backfillId: string;
  from: number;
  to: number;
  reprocess: ReprocessPolicy;
  params: RunParams;
  /** The pipeline's slots in [from, to), as its scheduler worked them out. */
  slots: number[];
  /** The time zone of the schedule they come from: `{{slot.date}}` is read in it. */
  timezone: string;
  /** Part of a cascade (or its root): who started it and what it reaches. */
  cascade?: Omit<CascadeOrigin, "notifiedAt"> | null;
  /** In a cascade: slots left out because their upstream did not succeed (slot → why). */
  excluded?: [number, string][];
  /** In a cascade: the upstream runs each slot's run consumes. */
  consumed?: [number, ConsumedRun[]][];
  /** In a cascade: slots whose newest success consumed those upstream runs already (slot → that run). */
  upToDate?: [number, string][];
}

export type BackfillStart = { outcome: "started"; backfill: Backfill } | { outcome: "conflict"; active: Backfill };
export type BackfillCancel = { outcome: "cancelled"; backfill: Backfill } | { outcome: "not_active"; backfill: Backfill } | { outcome: "not_found" };

/** A start of one run, as the coordinator does it (the same checks as any trigger). */
export type StartOne = (request: {
  runId: string;
  trigger: "scheduled" | "upstream" | "backfill";
  scheduledFor: number;
  params?: RunParams;
  backfillId?: string;
  reread?: boolean;
  lineage?: Lineage;
  settings: PipelineSettings;
}) => Promise<{ outcome: "started" | "exists" | "conflict" | "skipped" | "queued" | "covered"; run?: RunView }>;

export interface RunnerHost {
  store: RunStore;
  backfills: BackfillStore;
  pipeline(): string;
  /** The pipeline's settings as the deployment defines them now, or why there are none. */
  settings(): { ok: true; settings: PipelineSettings } | { ok: false; errors: string[]; removed?: boolean };
  startRun: StartOne;
  /** Sends the alert of a backfill that ended with failed slots (from an alarm); false without a webhook. */
  alertBackfill(backfillId: string): Promise<boolean>;
  /** Tells the downstream pipelines of a cascade that this backfill ended; true once all of them know. */
  cascadeEnded(backfill: Backfill): Promise<boolean>;
  log(event: EventName, runId: string, fields?: Record<string, unknown>): void;
}

/**
 * What runs next when the pipeline is free: scheduled slots that arrived during a backfill run first
 * (they waited for it), then the active backfill's next slot, oldest first. One run at a time, as always;
 * a backfill moves on from an alarm each time one of its runs ends.
 */
export class BackfillRunner {
  constructor(private readonly host: RunnerHost) {}

  /** Records a backfill and starts its first slot if the pipeline is free. At most one runs at a time. */
  async begin(request: BackfillRequest, now: number): Promise<BackfillStart> {
    // A cascade's backfill asked for again (its notice delivered twice): it is the one there is.
    const existing = request.cascade && request.cascade.root !== request.backfillId ? this.host.backfills.load(request.backfillId) : null;
    if (existing) return { outcome: "started", backfill: existing };
    const active = this.host.backfills.active();
    if (active) return { outcome: "conflict", active };
    const records = new Map(this.host.store.slotRecords(request.from, request.to).map((record) => [record.slot, record]));
    const backfill = settle(
      {
        backfillId: request.backfillId,
        pipeline: this.host.pipeline(),
        from: request.from,
        to: request.to,
        reprocess: request.reprocess,
        params: request.params,
        timezone: request.timezone,
        status: "running",
        createdAt: now,
        endedAt: null,
        slots: selectSlots(request.slots, records, request.reprocess, { excluded: new Map(request.excluded ?? []), consumed: new Map(request.consumed ?? []), upToDate: new Map(request.upToDate ?? []) }),
        alert: null,
        cascade: request.cascade ? { ...request.cascade, notifiedAt: null } : null,
      },
      now,
    );
    this.host.backfills.save(backfill);
    this.host.log("backfill_started", backfill.backfillId, { slots: backfill.slots.length, toRun: backfill.slots.filter((slot) => slot.status === "pending").length, reprocess: backfill.reprocess });
    if (backfill.status === "running") await this.next();
    // A cascade with nothing to run here still hands on: its downstream may wait for this pipeline too.
    else await this.handOn(backfill.backfillId);
    return { outcome: "started", backfill: this.host.backfills.load(backfill.backfillId)! };
  }

  /** A backfill stops after its current run: the slots not yet started are cancelled. */
  cancel(backfillId: string, now: number): BackfillCancel {
    const backfill = this.host.backfills.load(backfillId);
    if (!backfill) return { outcome: "not_found" };
    if (backfill.status !== "running") return { outcome: "not_active", backfill };
    const cancelled = cancelBackfill(backfill, now);
    this.host.backfills.save(cancelled);
    this.host.log("backfill_cancelled", backfillId, {});
    return { outcome: "cancelled", backfill: cancelled };
  }

  /** Whether a backfill is under way: scheduled slots arriving meanwhile wait for its runs instead of being skipped. */
  isActive(): boolean {
    return this.host.backfills.active() !== null;
  }

  /** Whether anything waits for the pipeline to be free. */
  hasWork(): boolean {
    return this.host.store.nextQueued() !== null || this.isActive();
  }

  /** Starts the next waiting run if the pipeline is free. Safe to call any number of times. */
  async next(): Promise<void> {
    const { store, backfills } = this.host;
    await this.reconcile();
    if (store.activeRunIds().length > 0) return; // its end asks again
    const resolved = this.host.settings();
    if (!resolved.ok) {
      this.host.log("next_run_not_started", "-", { errors: resolved.errors });
      // A removed pipeline never comes back to its backfill; a misconfigured one waits for the fix.
      const active = backfills.active();
      if (resolved.removed && active) this.cancel(active.backfillId, Date.now());
      return;
    }
    const { settings } = resolved;
    const queued = store.nextQueued();
    if (queued) {
      store.dequeue(queued.runId);
      await this.host.startRun({ runId: queued.runId, trigger: queued.start?.trigger ?? "scheduled", scheduledFor: queued.scheduledFor, ...(queued.start ? { lineage: queued.start.lineage } : {}), settings: inZone(settings, queued.timezone) });
      return;
    }
    for (;;) {
      const backfill = backfills.active();
      if (!backfill) return;
      const slot = nextPendingSlot(backfill);
      if (slot === null) {
        await this.save(settle(backfill, Date.now()));
        return;
      }
      // Looked at again when its turn comes: a scheduled slot may have run it meanwhile.
      const covered = coveredReason(backfill, store.slotRecords(slot, slot + 1)[0] ?? null);
      if (covered !== null) {
        await this.save(slotCovered(backfill, slot, covered));
        continue;
      }
      const runId = backfillRunId(backfill.backfillId, slot);
      // Marked before the start: a run that ends at once finds its slot running, never pending.
      backfills.save(slotStarted(backfill, slot, runId));
      const lineage = backfill.cascade ? { ...emptyLineage(), upstream: backfill.slots.find((entry) => entry.scheduledFor === slot)?.consumed ?? [], cascadeOf: backfill.cascade.root } : undefined;
      const result = await this.host.startRun({ runId, trigger: "backfill", scheduledFor: slot, params: backfill.params, backfillId: backfill.backfillId, reread: backfill.reprocess === "all", ...(lineage ? { lineage } : {}), settings: inZone(settings, backfill.timezone) });
      // A repeated start (the alarm delivered twice) finds the run; if it already ended, its end is recorded now.
      if (result.outcome === "exists" && result.run && result.run.status !== "running") {
        await this.slotRunEnded(backfill.backfillId, slot, { status: result.run.status, error: result.run.error ?? null });
        continue;
      }
      return;
    }
  }

  /** A run ended: if it belonged to a backfill, its slot takes the run's status. */
  async runEnded(run: Run): Promise<void> {
    if (run.backfillId === null || run.scheduledFor === null) return;
    await this.slotRunEnded(run.backfillId, run.scheduledFor, { status: run.status, error: run.error ?? null });
  }

  /**
   * Slots a crash left marked running: a run that ended gives its slot its status, a run that was never
   * saved is started again. Without this, such a backfill would never end.
   */
  private async reconcile(): Promise<void> {
    for (const backfill of this.host.backfills.unsettled()) {
      for (const slot of backfill.slots.filter((entry) => entry.status === "running" && entry.runId !== null)) {
        const run = this.host.store.load(slot.runId!)?.run;
        if (!run) {
          this.host.backfills.save(slotRestarted(this.host.backfills.load(backfill.backfillId)!, slot.scheduledFor));
        } else if (run.status !== "running") {
          await this.slotRunEnded(backfill.backfillId, slot.scheduledFor, { status: run.status, error: run.error ?? null });
        }
      }
    }
  }

  private async slotRunEnded(backfillId: string, slot: number, run: { status: Run["status"]; error: string | null }): Promise<void> {
    const backfill = this.host.backfills.load(backfillId);
    if (!backfill) return;
    await this.save(slotEnded(backfill, slot, run, Date.now()));
  }

  /** Saves a backfill; when that ends it with failed slots, its one alert goes out (the end is saved first). */
  private async save(backfill: Backfill): Promise<void> {
    this.host.backfills.save(backfill);
    if (backfill.endedAt !== null && backfill.alert === null && backfill.status !== "running") this.host.log(BACKFILL_END_EVENTS[backfill.status], backfill.backfillId, { slots: backfill.slots.length });
    if (needsAlert(backfill) && (await this.host.alertBackfill(backfill.backfillId))) {
      const latest = this.host.backfills.load(backfill.backfillId)!;
      this.host.backfills.save({ ...latest, alert: { status: "pending", attempts: 0, at: Date.now() } });
    }
    await this.handOn(backfill.backfillId);
  }

  /**
   * A cascading backfill that ended tells its downstream pipelines (the end is saved first); one that
   * could not (a downstream did not answer) is told again by the watchdog, hourly at least.
   */
  async handOn(backfillId: string): Promise<void> {
    const backfill = this.host.backfills.load(backfillId);
    if (!backfill || !owesCascadeNotice(backfill)) return;
    if (!(await this.host.cascadeEnded(backfill))) return;
    const latest = this.host.backfills.load(backfillId)!;
    this.host.backfills.save({ ...latest, cascade: { ...latest.cascade!, notifiedAt: Date.now() } });
  }

  /** Cascading backfills that ended without telling their downstream pipelines yet. */
  async handOnOwed(): Promise<void> {
    for (const backfillId of this.host.backfills.owingCascadeNotice()) await this.handOn(backfillId);
  }
}

/** Settings whose schedule is read in `timezone` (the zone the run's slot came from). */
function inZone(settings: PipelineSettings, timezone: string | null | undefined): PipelineSettings {
  return timezone ? { ...settings, schedule: { ...settings.schedule, timezone } } : settings;
}
