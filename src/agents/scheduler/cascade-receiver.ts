import type { EventName } from "../../observability/events";
import { MAX_BACKFILL_SLOTS } from "../../domain/backfill";
import { cascadeBackfillId } from "../../domain/run-ids";
import { describeWaiting, type ConsumedRun, type GateVerdict } from "../../domain/upstream-gate";
import { slotsConsuming } from "../../domain/upstream-window";
import type { RunParams } from "../../domain/run";
import type { PipelineSettings } from "../../engine/settings";
import type { TriggerSettings } from "../../engine/triggers";
import type { BackfillRequest, BackfillStart } from "../coordinator/backfill-runner";
import type { WaitingStore } from "./waiting-store";

/** How soon a cascade that found the pipeline's own backfill under way tries again. */
const CASCADE_RETRY_MS = 60_000;
/** Cascades are remembered this long (a repeated notice later than that is long settled). */
const KEEP_CASCADES_MS = 31 * 86_400_000;

/** An upstream's backfill of a cascade ended: which of its slots it ran to success. */
export interface CascadeReport {
  root: string;
  closure: string[];
  upstream: string;
  backfillId: string;
  slots: number[];
}

export interface CascadeHost {
  store: WaitingStore;
  pipeline(): string;
  current(): { settings: PipelineSettings; triggers: TriggerSettings; params: RunParams } | null;
  verdict(slot: number, settings: PipelineSettings, triggers: TriggerSettings): Promise<GateVerdict>;
  /** The upstream runs the slot's newest successful run consumed, and that run; null if it has none. */
  latestSuccess(slot: number): Promise<{ runId: string; consumed: ConsumedRun[] } | null>;
  startBackfill(request: BackfillRequest): Promise<BackfillStart>;
  retryAt(at: number): Promise<void>;
  log(event: EventName, fields: Record<string, unknown>): void;
}

/**
 * A backfill of an upstream range that cascades (`cascade: true`) reaches this pipeline through its
 * upstreams' reports. Once every upstream of this pipeline in the cascade has reported (a pipeline fed by
 * two of them waits for both), it backfills the slots of its own that consumed the slots they ran: each
 * once (the backfill is named after the cascade), after its upstream (it starts when they have ended),
 * and only where its gate is open; a slot whose upstream did not succeed is listed as skipped, with why.
 */
export class CascadeReceiver {
  constructor(private readonly host: CascadeHost) {}

  async report(report: CascadeReport, now: number): Promise<void> {
    this.host.store.report(report.root, report.closure, report.upstream, report.slots, now);
    await this.startReady(now);
  }

  /** Starts the cascades whose upstreams have all reported. Safe to call any number of times. */
  async startReady(now: number): Promise<void> {
    const { store } = this.host;
    store.pruneCascades(now - KEEP_CASCADES_MS);
    for (const cascade of store.pendingCascades()) {
      const current = this.host.current();
      if (current === null) return;
      const { settings, triggers } = current;
      const reporters = triggers.after.filter((upstream) => cascade.closure.includes(upstream.pipeline));
      if (!reporters.every((upstream) => upstream.pipeline in cascade.reports)) continue;
      const candidates = new Set<number>();
      for (const upstream of reporters) {
        for (const slot of cascade.reports[upstream.pipeline]!) for (const own of slotsConsuming(upstream.slots, slot, settings.schedule)) if (own <= now) candidates.add(own);
      }
      const slots = [...candidates].sort((a, b) => a - b).slice(0, MAX_BACKFILL_SLOTS);
      // Slots of the cascade stop waiting before anything is awaited, so no recheck starts them meanwhile;
      // those whose gate turns out closed wait again.
      const held = new Map(store.waiting().filter((entry) => candidates.has(entry.slot)).map((entry) => [entry.slot, entry.since]));
      for (const slot of held.keys()) store.release(slot);
      const excluded: [number, string][] = [];
      const consumed: [number, ConsumedRun[]][] = [];
      const upToDate: [number, string][] = [];
      for (const slot of slots) {
        const verdict = await this.host.verdict(slot, settings, triggers);
        if (!verdict.open) {
          excluded.push([slot, `its upstream is not in (${describeWaiting(verdict.waitingFor)})`]);
          continue;
        }
        consumed.push([slot, verdict.consumed]);
        // The slot ran on exactly these upstream runs already (its gate opened when the last one succeeded).
        const latest = await this.host.latestSuccess(slot);
        if (latest && sameRuns(latest.consumed, verdict.consumed)) upToDate.push([slot, latest.runId]);
      }
      const backfillId = cascadeBackfillId(cascade.root, this.host.pipeline());
      const result = await this.host.startBackfill({
        backfillId,
        from: slots[0] ?? now,
        to: (slots.at(-1) ?? now) + 1,
        reprocess: "all",
        params: current.params,
        slots,
        timezone: settings.schedule.timezone,
        cascade: { root: cascade.root, closure: cascade.closure },
        excluded,
        consumed,
        upToDate,
      });
      for (const [slot] of excluded) if (held.has(slot)) store.hold(slot, held.get(slot)!);
      if (result.outcome === "conflict") {
        // Not started: the slots wait as they did, and the cascade is tried again.
        for (const [slot, since] of held) store.hold(slot, since);
        this.host.log("cascade_not_started", { root: cascade.root, activeBackfill: result.active.backfillId });
        await this.host.retryAt(now + CASCADE_RETRY_MS);
        continue;
      }
      store.cascadeStarted(cascade.root, backfillId);
      this.host.log("cascade_started", { root: cascade.root, backfillId, slots: slots.length, excluded: excluded.length });
    }
  }
}

function sameRuns(a: readonly ConsumedRun[], b: readonly ConsumedRun[]): boolean {
  const key = (runs: readonly ConsumedRun[]) => runs.map((run) => `${run.pipeline}/${run.runId}`).sort().join("\n");
  return key(a) === key(b);
}
