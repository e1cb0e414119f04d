import type { EventName } from "../../observability/events";
import type { LateSlot } from "../../domain/alerts";
import { latenessMessage } from "../../alerts/messages";
import { localIso } from "../../domain/local-time";
import { DEFAULT_RETRY_POLICIES } from "../../domain/retry-policy";
import { formatInterval } from "../../domain/schedule";
import { expectedSlots, specAt } from "../../domain/schedule-periods";
import { judgeDeadline, ledgerEntries, type LatenessEvent, type SlotEntry, type SlotRecord } from "../../domain/slot-ledger";
import type { PipelineSettings } from "../../engine/settings";
import { pipelineBase, publicUrl } from "../../links";
import { postAlert } from "../../alerts/delivery";
import type { ScheduleStore, SlotAlert } from "./schedule-store";
import type { TriggeredRun } from "../../domain/triggered-run";
import type { WaitingFor } from "../../domain/upstream-gate";

/** Slots judged against their deadline per check; a longer backlog is judged over the next checks. */
const JUDGED_PER_CHECK = 500;
/** Lateness alerts are kept this long after their slot (the ledger keeps the fates). */
const KEEP_ALERTS_MS = 400 * 86_400_000;

export interface LedgerEntry extends SlotEntry {
  /** The slot on the wall clock of the schedule it belonged to. */
  scheduledForLocal: string;
  /** Lateness alerts this slot raised (each event at most once). */
  alerts: Omit<SlotAlert, "slot">[];
}

export type LedgerResult = { ok: true; from: number; to: number; timezone: string; slots: LedgerEntry[]; triggered: TriggeredRun[] } | { ok: false; code: "invalid_query" | "too_many_slots"; reason: string };

export interface DeliveryPayload {
  event: LatenessEvent;
  slots: LateSlot[];
  /** The deadline that passed (for `upstream_late`, the wait that ran out). */
  deadlineMs: number;
}

export interface WatchHost {
  env: Env;
  store: ScheduleStore;
  pipeline(): string;
  /** The slot records the pipeline's coordinator keeps, and the slots queued behind a backfill run. */
  slotRecords(from: number, to: number, limit?: number): Promise<{ records: SlotRecord[]; queued: number[] }>;
  settings(): { ok: true; settings: PipelineSettings } | { ok: false };
  /** Slots waiting for their upstream, with what each waits for. */
  waiting(): ReadonlyMap<number, WaitingFor[]>;
  /** Runs of [from, to) started by objects or events (they belong to no slot). */
  triggeredRuns(from: number, to: number): TriggeredRun[];
  /** Sends an alert from an alarm, so it survives a restart. */
  scheduleDelivery(payload: DeliveryPayload): Promise<void>;
  log(event: EventName, fields: Record<string, unknown>): void;
}

/**
 * The slot ledger and lateness: which slots the schedule expected (by the schedule in force at each
 * slot's time), what became of each, and, for a pipeline with a deadline, an alert when a slot's deadline
 * passes without a successful run (`run_late`) or without any run (`slot_missed`). Each slot is judged
 * once, in order, by the slot's own alarm and by the hourly check, whichever comes first.
 */
export class SlotWatch {
  constructor(private readonly host: WatchHost) {}

  async ledger(from: number, to: number, max: number, now: number, timezone: string): Promise<LedgerResult> {
    const periods = this.host.store.periods();
    const expected = expectedSlots(periods, from, to, max);
    if (expected.more) return { ok: false, code: "too_many_slots", reason: `the range holds more than ${max} slots; ask for a shorter range` };
    const { records, queued } = await this.host.slotRecords(from, to, max + 1);
    if (records.length > max) return { ok: false, code: "too_many_slots", reason: `the range holds more than ${max} slots that ran; ask for a shorter range` };
    const current = specAt(periods, now);
    const entries = ledgerEntries({
      expected: expected.slots,
      records,
      queued,
      waiting: this.host.waiting(),
      now,
      missedAfterMs: current?.missedAfterMs ?? 600_000,
      deadlineMs: (slot) => specAt(periods, slot)?.deadlineMs ?? null,
    });
    if (entries.length > max) return { ok: false, code: "too_many_slots", reason: `the range holds more than ${max} slots that ran; ask for a shorter range` };
    const alerts = new Map<number, Omit<SlotAlert, "slot">[]>();
    for (const { slot, ...alert } of this.host.store.alerts(from, to)) alerts.set(slot, [...(alerts.get(slot) ?? []), alert]);
    // Each slot on the wall clock of the schedule it belonged to.
    const local = (slot: number) => localIso(slot, specAt(periods, slot)?.timezone ?? timezone);
    const slots = entries.map((entry) => ({ ...entry, scheduledForLocal: local(entry.scheduledFor), alerts: alerts.get(entry.scheduledFor) ?? [] }));
    return { ok: true, from, to, timezone, slots, triggered: this.host.triggeredRuns(from, to) };
  }

  /** Judges, in order, every slot whose deadline has passed since the last check, and alerts what was late or missed. */
  async judge(now: number): Promise<void> {
    const { store } = this.host;
    const periods = store.periods();
    if (periods.length === 0) return;
    const through = Number(store.meta("judged_through") ?? periods[0]!.from - 1);
    const { slots } = expectedSlots(periods, through + 1, now, JUDGED_PER_CHECK);
    const due: { slot: number; deadlineMs: number; expectation: (typeof slots)[number]["expectation"] }[] = [];
    let judgedThrough = through;
    for (const { slot, expectation } of slots) {
      const deadlineMs = specAt(periods, slot)?.deadlineMs ?? null;
      if (deadlineMs !== null && slot + deadlineMs > now) break; // slots are in order; the rest are not due either
      if (deadlineMs !== null) due.push({ slot, deadlineMs, expectation });
      judgedThrough = slot;
    }
    if (due.length > 0) {
      const { records } = await this.host.slotRecords(due[0]!.slot, due.at(-1)!.slot + 1);
      const bySlot = new Map(records.map((record) => [record.slot, record]));
      const raised = new Map<string, DeliveryPayload>();
      for (const { slot, deadlineMs, expectation } of due) {
        const record = bySlot.get(slot) ?? null;
        const event = judgeDeadline(slot, record, deadlineMs, expectation);
        if (event === null || !store.claimAlert(slot, event, now)) continue;
        const key = `${event}/${deadlineMs}`;
        const payload = raised.get(key) ?? { event, slots: [], deadlineMs };
        // A missed slot names no run (a backfill of it, if any, is not the slot's own).
        const run = event === "slot_missed" ? null : (record?.executed ?? null);
        payload.slots.push({ scheduledFor: slot, runId: run?.runId ?? null, status: run?.status ?? null });
        raised.set(key, payload);
      }
      for (const payload of raised.values()) await this.send(payload, now);
    }
    if (judgedThrough > through) store.setMeta("judged_through", judgedThrough);
    store.pruneAlerts(now - KEEP_ALERTS_MS);
  }

  /** Raises `event` for slots that have not raised it yet (each slot raises each event once). */
  async raise(event: LatenessEvent, slots: readonly LateSlot[], deadlineMs: number, now: number): Promise<void> {
    const fresh = slots.filter((slot) => this.host.store.claimAlert(slot.scheduledFor, event, now));
    if (fresh.length > 0) await this.send({ event, slots: fresh, deadlineMs }, now);
  }

  private async send(payload: DeliveryPayload, now: number): Promise<void> {
    this.host.log(payload.event, { slots: payload.slots.map((slot) => slot.scheduledFor), deadline: formatInterval(payload.deadlineMs), ...(payload.event === "upstream_late" ? { waitingFor: payload.slots.map((slot) => slot.waitingFor) } : {}) });
    if (this.host.env.ALERT_WEBHOOK_URL) await this.host.scheduleDelivery(payload);
    else this.host.store.alertDelivered(payload.slots.map((slot) => slot.scheduledFor), payload.event, { status: "not_sent", attempts: 0 }, now);
  }

  /** Posts a lateness alert (from an alarm) and records the outcome on its slots. */
  async deliver(given: DeliveryPayload): Promise<void> {
    const url = this.host.env.ALERT_WEBHOOK_URL;
    // Alarms are at-least-once: slots whose alert went out already are not sent again.
    const pending = this.host.store.pendingAlerts(given.slots.map((slot) => slot.scheduledFor), given.event);
    const payload = { ...given, slots: given.slots.filter((slot) => pending.has(slot.scheduledFor)) };
    if (!url || payload.slots.length === 0) return;
    const settings = this.host.settings();
    const retry = settings.ok ? settings.settings.retry.alerts : DEFAULT_RETRY_POLICIES.alerts;
    const ledgerUrl = publicUrl(this.host.env.PUBLIC_BASE_URL, `${pipelineBase(this.host.pipeline())}/slots?from=${new Date(payload.slots[0]!.scheduledFor).toISOString()}`);
    const message = latenessMessage(this.host.pipeline(), payload.event, payload.slots, formatInterval(payload.deadlineMs), ledgerUrl);
    const outcome = await postAlert(url, message, retry);
    this.host.store.alertDelivered(payload.slots.map((slot) => slot.scheduledFor), payload.event, outcome, Date.now());
    this.host.log(outcome.status === "delivered" ? "alert_delivered" : "alert_failed", { event: payload.event, attempts: outcome.attempts, error: outcome.error });
  }
}
