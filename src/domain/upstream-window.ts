import { addDays, localDate, localDayStart } from "./local-time";
import { nextSlot, slotsInRange, type ScheduleSpec } from "./schedule";

/**
 * Which of an upstream pipeline's slots a downstream slot consumes. The mapping is explicit and read on
 * the downstream's wall clock (its schedule's time zone), so a day is a local day across daylight saving
 * changes: 23 or 25 hours long, holding whatever upstream slots its schedule put in it.
 * - `day`: the local day that ended when the slot's own day began. A slot at 02:30 on 2 December consumes
 *   the upstream slots of 1 December, 00:00 to 24:00; a daily slot at midnight consumes the day it closes.
 * - `interval`: the upstream slots since the downstream's previous slot, up to and including its own time.
 */
export const SLOT_MAPPINGS = ["day", "interval"] as const;
export type SlotMapping = (typeof SLOT_MAPPINGS)[number];

/** A half-open range of time [from, to): the upstream slots whose times fall in it are consumed. */
export interface SlotWindow {
  from: number;
  to: number;
}

/** The window of upstream time a downstream slot consumes. */
export function upstreamWindow(mapping: SlotMapping, slot: number, spec: ScheduleSpec): SlotWindow {
  if (mapping === "day") {
    const today = localDate(slot, spec.timezone);
    return { from: localDayStart(addDays(today, -1), spec.timezone), to: localDayStart(today, spec.timezone) };
  }
  return { from: previousSlot(spec, slot) + 1, to: slot + 1 };
}

/**
 * The downstream slots whose windows hold an upstream slot at `upstreamSlot`: the inverse of
 * `upstreamWindow`, for a backfill of the upstream that cascades. At most `max` slots.
 */
export function slotsConsuming(mapping: SlotMapping, upstreamSlot: number, spec: ScheduleSpec, max = 1_000): number[] {
  if (mapping === "day") {
    const next = addDays(localDate(upstreamSlot, spec.timezone), 1);
    return slotsInRange(spec, localDayStart(next, spec.timezone), localDayStart(addDays(next, 1), spec.timezone), max).slots;
  }
  const slot = nextSlot(spec, upstreamSlot - 1);
  return slot === null ? [] : [slot];
}

/** The slot before `slot` of the schedule (searched backwards a widening span at a time). */
function previousSlot(spec: ScheduleSpec, slot: number): number {
  for (let span = 3_600_000; span <= 800 * 86_400_000; span *= 4) {
    const { slots } = slotsInRange(spec, Math.max(0, slot - span), slot, 100_000);
    if (slots.length > 0) return slots.at(-1)!;
    if (slot - span <= 0) break;
  }
  return -1;
}
