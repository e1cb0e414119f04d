import type { EventName } from "../../observability/events";
import { emptyLineage, type Lineage, type Trigger } from "../../domain/run";
import { decideWaiting, describeWaiting, judgeGate, WAITING_RECHECK_MS, type GateVerdict, type UpstreamSlot, type WaitingFor } from "../../domain/upstream-gate";
import { upstreamWindow, type SlotWindow } from "../../domain/upstream-window";
import type { PipelineSettings } from "../../engine/settings";
import type { TriggerSettings } from "../../engine/triggers";
import type { StartRunResult } from "../coordinator/requests";
import type { WaitingSlot, WaitingStore } from "./waiting-store";

/** How soon a slot whose gate opened while the pipeline was busy tries again. */
const BUSY_RETRY_MS = 15_000;

export interface WaitsHost {
  store: WaitingStore;
  /** The pipeline's settings with the schedule in force, and its triggers; null when it cannot run. */
  current(): { settings: PipelineSettings; triggers: TriggerSettings } | null;
  /** An upstream's ledger in a window, or why it cannot be read. */
  upstreamSlots(pipeline: string, window: SlotWindow): Promise<UpstreamSlot[] | { problem: string }>;
  startSlot(request: { slot: number; trigger: Extract<Trigger, "scheduled" | "upstream">; lineage: Lineage; settings: PipelineSettings }): Promise<StartRunResult>;
  recordSkipped(slot: number, reason: string, settings: PipelineSettings): Promise<void>;
  /** Raises `upstream_late` for the slot (once). */
  alertLate(slot: number, waitingFor: string, waitMs: number): Promise<void>;
  /** Looks at the waiting slots again at `at` (an alarm). */
  checkAt(at: number): Promise<void>;
  log(event: EventName, fields: Record<string, unknown>): void;
}

/**
 * Slots that wait for their upstream. A slot whose time has come is held here (its time has passed, so
 * the schedule is done with it) and released when its upstream is in: on being told an upstream run
 * succeeded, on its own recheck alarm (every minute, and at the moment it becomes late), and on the
 * hourly wake-up. Every release starts the run named after the slot, so however many of these happen
 * at once, the slot runs once.
 */
export class UpstreamWaits {
  constructor(private readonly host: WaitsHost) {}

  /** Slots that came due: held at once (no await before), so a restart right after finds them waiting. */
  held(slots: readonly number[], now: number): void {
    for (const slot of slots) this.host.store.hold(slot, now);
    if (slots.length > 0) this.host.log("slot_waiting", { slots });
  }

  /** Looks at every waiting slot, oldest first, and releases, keeps or misses each. */
  async review(now: number, cause: "slot" | "upstream" | "check"): Promise<void> {
    const { store } = this.host;
    const waiting = store.waiting();
    if (waiting.length === 0) return;
    const current = this.host.current();
    if (current === null) return; // misconfigured: the slots keep waiting for the fix (the hourly check looks again)
    const { settings, triggers } = current;
    // A paused schedule keeps its held slots: they start once it is resumed (and their upstream is in).
    if (!settings.schedule.enabled) return;
    // Armed first: should this review be cut off (a restart, an upstream that does not answer), the next one comes.
    await this.host.checkAt(now + WAITING_RECHECK_MS);
    let nextCheck = Number.POSITIVE_INFINITY;
    // In order: a slot whose upstream is in still waits for the slots before it that wait.
    let blocked = false;
    for (const entry of waiting) {
      // A definition that no longer waits for anything releases what it held, as the clock would have.
      const verdict: GateVerdict = triggers.wait === null ? { open: true, consumed: [] } : await this.verdict(entry.slot, settings, triggers);
      const decision = triggers.wait === null ? { action: "start" as const, consumed: [], late: null } : decideWaiting(entry.slot, verdict, triggers.wait, now);
      if (decision.action === "wait" || (decision.action === "start" && blocked)) {
        store.noted(entry.slot, decision.action === "wait" ? decision.waitingFor : [], now);
        nextCheck = Math.min(nextCheck, decision.action === "wait" ? decision.until : now + WAITING_RECHECK_MS);
        blocked = true;
        continue;
      }
      if (decision.action === "miss") {
        await this.host.alertLate(entry.slot, describeWaiting(decision.waitingFor), triggers.wait!.waitMs);
        await this.host.recordSkipped(entry.slot, decision.reason, settings);
        store.release(entry.slot);
        this.host.log("slot_released", { slot: entry.slot, outcome: "missed", reason: decision.reason });
        continue;
      }
      if (decision.late) await this.host.alertLate(entry.slot, describeWaiting(decision.late.waitingFor), triggers.wait!.waitMs);
      const lineage = { ...emptyLineage(), upstream: decision.consumed, missingUpstream: decision.late ? describeWaiting(decision.late.waitingFor) : null };
      const result = await this.host.startSlot({ slot: entry.slot, trigger: triggerOf(entry, cause, decision.late !== null), lineage, settings });
      if (result.outcome === "conflict") {
        // One run at a time: this slot and those after it try again once the pipeline is free.
        store.noted(entry.slot, [], now);
        nextCheck = Math.min(nextCheck, now + BUSY_RETRY_MS);
        break;
      }
      store.release(entry.slot);
      this.host.log("slot_released", { slot: entry.slot, outcome: result.outcome, consumed: decision.consumed.length, late: decision.late !== null });
    }
    if (Number.isFinite(nextCheck)) await this.host.checkAt(nextCheck);
  }

  /** What each waiting slot waits for, by slot (as last looked at). */
  waitingFor(): Map<number, WaitingFor[]> {
    return new Map(this.host.store.waiting().map((entry) => [entry.slot, entry.waitingFor]));
  }

  /** The gate of one slot: each upstream's ledger over the slot's window. */
  async verdict(slot: number, settings: PipelineSettings, triggers: TriggerSettings): Promise<GateVerdict> {
    const states = await Promise.all(
      triggers.after.map(async (upstream) => {
        const window = upstreamWindow(upstream.slots, slot, settings.schedule);
        return { pipeline: upstream.pipeline, window, slots: await this.host.upstreamSlots(upstream.pipeline, window) };
      }),
    );
    return judgeGate(states);
  }
}

/**
 * What started a released slot: the clock, when its upstream was in already at its time (or it ran
 * late anyway); the upstream, when the slot waited for it.
 */
function triggerOf(entry: WaitingSlot, cause: "slot" | "upstream" | "check", late: boolean): "scheduled" | "upstream" {
  if (late) return "scheduled";
  return cause === "slot" && entry.checkedAt === null ? "scheduled" : "upstream";
}
