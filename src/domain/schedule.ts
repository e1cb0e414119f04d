import { Cron } from "croner";

/** When a pipeline runs: a 5-field cron expression read in an IANA time zone. */
export interface ScheduleSpec {
  cron: string;
  timezone: string;
}

export const DEFAULT_SCHEDULE: ScheduleSpec = { cron: "0 3 * * *", timezone: "UTC" };

export type CronCheck = { ok: true } | { ok: false; reason: string };

export function checkSchedule(spec: ScheduleSpec): CronCheck {
  try {
    const cron = toCron(spec);
    if (cron.nextRun(new Date(0)) === null) return { ok: false, reason: `cron ${JSON.stringify(spec.cron)} never fires` };
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `invalid cron ${JSON.stringify(spec.cron)}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The first slot strictly after `after` (epoch ms), or null if the expression has no future slot. */
export function nextSlot(spec: ScheduleSpec, after: number): number | null {
  return toCron(spec).nextRun(new Date(after))?.getTime() ?? null;
}

/**
 * The gap between the next two slots after `from`: 86,400,000 for a daily schedule. Cron expressions
 * need not be regular, so this describes the upcoming interval rather than promising a fixed one.
 */
export function slotInterval(spec: ScheduleSpec, from: number): number | null {
  const [first, second] = toCron(spec).nextRuns(2, new Date(from));
  if (!first || !second) return null;
  return second.getTime() - first.getTime();
}

function toCron(spec: ScheduleSpec): Cron {
  // No callback: croner only computes times and never starts a timer of its own.
  return new Cron(spec.cron, { timezone: spec.timezone, mode: "5-part" });
}

/** A slot the scheduler has armed an alarm for. */
export interface ArmedSlot {
  id: string;
  slot: number;
}

export interface ArmingPlan {
  /** Armed slots to cancel. */
  cancel: string[];
  /** The slot to arm, or null when the right one is already armed. */
  arm: number | null;
}

/**
 * Given the slots already armed and the slot that should be next, decides what to change so that exactly
 * one future slot stays armed, whatever happened before (repeated wake-ups, a cron changed between
 * deploys). Slots already due are left alone: their alarm is about to deliver them.
 */
export function planArming(armed: ArmedSlot[], wanted: number | null, now: number): ArmingPlan {
  const future = armed.filter((entry) => entry.slot > now);
  const keep = wanted === null ? undefined : future.find((entry) => entry.slot === wanted);
  return {
    cancel: future.filter((entry) => entry !== keep).map((entry) => entry.id),
    arm: wanted !== null && keep === undefined ? wanted : null,
  };
}
