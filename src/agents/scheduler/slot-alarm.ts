import type { EventName } from "../../observability/events";
import { alarmProblem } from "../../domain/alarm-health";
import { nextSlot, planArming, type ArmedSlot, type ScheduleSpec } from "../../domain/schedule";
import type { ScheduleStore } from "./schedule-store";

/** The callback a slot's alarm invokes. A constant: schedule rows store it by name. */
export const SLOT_CALLBACK = "runScheduledSlot";

export interface SlotPayload {
  slot: number;
}

/** What the slot alarm needs of its agent: the SDK's schedule rows and the Durable Object's own alarm. */
export interface AlarmHost {
  store: ScheduleStore;
  listSchedules(): Promise<{ id: string; callback: string; payload: unknown }[]>;
  schedule(when: Date, callback: string, payload: SlotPayload): Promise<unknown>;
  cancelSchedule(id: string): Promise<unknown>;
  getAlarm(): Promise<number | null>;
  /** Whether the pipeline is still defined: a removed one keeps no alarm. */
  defined(): boolean;
  log(event: EventName, fields: Record<string, unknown>): void;
}

/**
 * One alarm per pipeline, for its next slot. Arming keeps exactly one future slot armed whatever happened
 * before; the hourly check verifies the alarm is really there (its schedule row, and the Durable Object's
 * alarm behind it) and re-arms it if not, counting and logging each re-arm with its reason.
 */
export class SlotAlarm {
  constructor(private readonly host: AlarmHost) {}

  async armed(): Promise<ArmedSlot[]> {
    const schedules = await this.host.listSchedules();
    return schedules.filter((schedule) => schedule.callback === SLOT_CALLBACK).map((schedule) => ({ id: schedule.id, slot: (schedule.payload as SlotPayload).slot }));
  }

  /** Arms the next slot after `reference` (or nothing, when paused or removed), cancelling any other. */
  async armAfter(spec: ScheduleSpec | null, reference: number): Promise<void> {
    const { store } = this.host;
    const wanted = spec?.enabled ? nextSlot(spec, reference) : null;
    const armed = await this.armed();
    // A removed pipeline keeps no alarm at all, not even one already due.
    const plan = this.host.defined() ? planArming(armed, wanted, reference) : { cancel: armed.map((entry) => entry.id), arm: null };
    for (const id of plan.cancel) await this.host.cancelSchedule(id);
    const lastArmed = store.meta("armed_slot");
    if (armed.some((entry) => plan.cancel.includes(entry.id) && String(entry.slot) === lastArmed)) store.deleteMeta("armed_slot");
    if (plan.arm === null) return;
    // Arming again the slot this scheduler armed before, which nobody cancelled: its alarm was lost.
    if (String(plan.arm) === lastArmed && plan.cancel.length === 0) this.recordRearm(`the alarm for the next slot (${new Date(plan.arm).toISOString()}) had disappeared`, plan.arm);
    await this.host.schedule(new Date(plan.arm), SLOT_CALLBACK, { slot: plan.arm });
    store.setMeta("armed_slot", plan.arm);
  }

  /**
   * The hourly check: is the next slot's alarm really armed? A missing schedule row, or a Durable Object
   * alarm that is not set (or set too late), would let the schedule die silently. What it finds wrong it
   * clears, so that arming afterwards sets it afresh, and says so.
   */
  async verify(spec: ScheduleSpec | null, now: number): Promise<void> {
    if (!spec?.enabled || !this.host.defined()) return;
    const armed = await this.armed();
    const wanted = nextSlot(spec, now);
    const lastArmed = this.host.store.meta("armed_slot");
    const problem = alarmProblem({ wanted, armed, alarmAt: await this.host.getAlarm(), lastArmed: lastArmed === null ? null : Number(lastArmed), now });
    if (problem === null || wanted === null) return;
    // Cancelling and arming again makes the SDK set the Durable Object's alarm afresh.
    for (const entry of armed.filter((candidate) => candidate.slot === wanted)) await this.host.cancelSchedule(entry.id);
    this.host.store.deleteMeta("armed_slot");
    this.recordRearm(problem, wanted);
  }

  private recordRearm(reason: string, slot: number): void {
    const { store } = this.host;
    store.setMeta("rearms", Number(store.meta("rearms") ?? 0) + 1);
    store.setMeta("last_rearm_at", Date.now());
    store.setMeta("last_rearm_reason", reason);
    this.host.log("alarm_rearmed", { reason, slot });
  }
}
