import { slotsInRange, type ScheduleSpec } from "./schedule";
import type { SlotExpectation } from "./slot-ledger";

/**
 * Which slots a pipeline's schedule expected over time. The scheduler records a period every time the
 * schedule in force changes (created, changed or paused through the API, changed by a deploy), so the
 * ledger judges each slot by the schedule that was in force at its time, not by today's.
 */
export interface SchedulePeriod {
  /** The period starts here (epoch ms) and lasts until the next one starts. */
  from: number;
  spec: ScheduleSpec;
}

export interface ExpectedSlot {
  slot: number;
  expectation: SlotExpectation;
}

/**
 * The slots in [from, to) that the periods expected, oldest first, at most `max` (`more` says there were
 * further ones). Slots before the first period were never expected. A paused period still lists the
 * slots its schedule would have had, marked paused.
 */
export function expectedSlots(periods: readonly SchedulePeriod[], from: number, to: number, max: number): { slots: ExpectedSlot[]; more: boolean } {
  const ordered = [...periods].sort((a, b) => a.from - b.from);
  const slots: ExpectedSlot[] = [];
  for (const [index, period] of ordered.entries()) {
    const start = Math.max(from, period.from);
    const end = Math.min(to, ordered[index + 1]?.from ?? Number.POSITIVE_INFINITY);
    if (start >= end) continue;
    const found = slotsInRange(period.spec, start, end, max - slots.length);
    const expectation: SlotExpectation = period.spec.enabled ? "expected" : "paused";
    slots.push(...found.slots.map((slot) => ({ slot, expectation })));
    if (found.more) return { slots, more: true };
  }
  return { slots, more: false };
}

/** The spec in force at `at`, or null before the first period. */
export function specAt(periods: readonly SchedulePeriod[], at: number): ScheduleSpec | null {
  let found: ScheduleSpec | null = null;
  for (const period of [...periods].sort((a, b) => a.from - b.from)) {
    if (period.from > at) break;
    found = period.spec;
  }
  return found;
}

/** Whether the schedule in force changed: a new period starts. Compared as stored, field by field. */
export function sameSpec(a: ScheduleSpec, b: ScheduleSpec): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(spec: ScheduleSpec): ScheduleSpec {
  return {
    cron: spec.cron,
    intervalMs: spec.intervalMs,
    timezone: spec.timezone,
    enabled: spec.enabled,
    missedRuns: spec.missedRuns,
    maxCatchUp: spec.maxCatchUp,
    missedAfterMs: spec.missedAfterMs,
    deadlineMs: spec.deadlineMs ?? null,
  };
}
