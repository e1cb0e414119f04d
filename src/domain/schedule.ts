import { Cron } from "croner";
import { cronProblem } from "./cron-syntax";

/**
 * When a pipeline runs, and what happens to slots the service missed.
 *
 * Time zones and daylight saving (croner's rules, tested for Europe/Berlin and America/New_York):
 * - a local time that does not exist (spring forward, e.g. 02:30 when clocks jump from 02:00 to 03:00)
 *   runs at the first valid instant after the gap, 03:00 local;
 * - a local time that occurs twice (fall back, e.g. 02:30 when clocks go from 03:00 back to 02:00) runs
 *   once, at its first occurrence.
 * Fixed intervals are counted from the Unix epoch, so "6h" runs at 00:00, 06:00, 12:00 and 18:00 UTC.
 */
export const MISSED_RUN_POLICIES = ["latest", "skip", "all"] as const;
export type MissedRunPolicy = (typeof MISSED_RUN_POLICIES)[number];

export interface ScheduleSpec {
  /** A 5-field cron expression, read in `timezone`; null for a fixed interval. */
  cron: string | null;
  /** A fixed interval in milliseconds; null for a cron expression. */
  intervalMs: number | null;
  timezone: string;
  enabled: boolean;
  /**
   * Slots that passed while the service was down or the alarm was lost: `latest` runs the most recent
   * once, `skip` runs none, `all` runs them in order (at most `maxCatchUp`).
   */
  missedRuns: MissedRunPolicy;
  maxCatchUp: number;
  /** A slot delivered more than this late counts as missed. */
  missedAfterMs: number;
  /**
   * How long after its slot a run must have succeeded: past it, the slot alerts `run_late` (or
   * `slot_missed` if nothing ran). Null: no deadline, no lateness alerts.
   */
  deadlineMs: number | null;
}

export const DEFAULT_SCHEDULE: ScheduleSpec = {
  cron: "0 3 * * *",
  intervalMs: null,
  timezone: "UTC",
  enabled: true,
  missedRuns: "latest",
  maxCatchUp: 10,
  missedAfterMs: 10 * 60_000,
  deadlineMs: null,
};

export const MIN_INTERVAL_MS = 60_000;
export const MAX_INTERVAL_MS = 366 * 86_400_000;

export type ScheduleCheck = { ok: true } | { ok: false; reason: string };

export function checkTimezone(timezone: string): ScheduleCheck {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return { ok: true };
  } catch {
    return { ok: false, reason: `timezone ${JSON.stringify(timezone)} is not an IANA time zone (for example "Europe/Berlin" or "UTC")` };
  }
}

export function checkSchedule(spec: ScheduleSpec): ScheduleCheck {
  if ((spec.cron === null) === (spec.intervalMs === null)) return { ok: false, reason: "set either a cron expression or an interval, not both" };
  const zone = checkTimezone(spec.timezone);
  if (!zone.ok) return zone;
  if (spec.intervalMs !== null) {
    if (!Number.isInteger(spec.intervalMs) || spec.intervalMs < MIN_INTERVAL_MS || spec.intervalMs > MAX_INTERVAL_MS) {
      return { ok: false, reason: `interval must be between 1 minute and 366 days, got ${spec.intervalMs} ms` };
    }
    return { ok: true };
  }
  const syntax = cronProblem(spec.cron!);
  if (syntax) return { ok: false, reason: syntax };
  try {
    const cron = toCron(spec.cron!, spec.timezone);
    if (cron.nextRun(new Date(0)) === null) return { ok: false, reason: `cron ${JSON.stringify(spec.cron)} never fires (no date matches it)` };
    return { ok: true };
  } catch {
    // Our check passed what croner refuses: still one message of ours.
    return { ok: false, reason: `cron ${JSON.stringify(spec.cron)} is not a schedule this service can read (5 fields: minute hour day-of-month month day-of-week)` };
  }
}

/** The first slot strictly after `after` (epoch ms), or null if there is none. */
export function nextSlot(spec: ScheduleSpec, after: number): number | null {
  return slotClock(spec).next(after);
}

/**
 * The gap between the next two slots after `from`: 86,400,000 for a daily schedule (but 82,800,000 or
 * 90,000,000 across a daylight-saving change). A description of the upcoming interval, not a promise.
 */
export function slotInterval(spec: ScheduleSpec, from: number): number | null {
  if (spec.intervalMs !== null) return spec.intervalMs;
  const [first, second] = toCron(spec.cron!, spec.timezone).nextRuns(2, new Date(from));
  if (!first || !second) return null;
  return second.getTime() - first.getTime();
}

/** Missed slots beyond the catch-up window are counted up to this many; more is reported as this many. */
export const MAX_DROPPED_COUNT = 100;

/**
 * A schedule's slots, worked out with one croner instance for all questions about a plan (building one
 * per slot made a per-minute schedule after a 30-day outage cost 43,000 instances and seconds of CPU).
 * Intervals are plain arithmetic.
 */
export interface SlotClock {
  /** The first slot strictly after `after`, or null. */
  next(after: number): number | null;
  /** The newest `limit` slots in (after, until], oldest first. */
  latest(after: number, until: number, limit: number): number[];
  /** How many slots are in (after, until], counting at most `max`. */
  count(after: number, until: number, max: number): number;
}

export function slotClock(spec: ScheduleSpec): SlotClock {
  if (spec.intervalMs !== null) {
    const every = spec.intervalMs;
    const first = (after: number) => (Math.floor(after / every) + 1) * every;
    const last = (until: number) => Math.floor(until / every) * every;
    const count = (after: number, until: number) => Math.max(0, (last(until) - first(after)) / every + 1);
    return {
      next: first,
      latest(after, until, limit) {
        const kept = Math.min(count(after, until), limit);
        return Array.from({ length: kept }, (_, index) => last(until) - (kept - 1 - index) * every);
      },
      count: (after, until, max) => Math.min(count(after, until), max),
    };
  }
  const cron = toCron(spec.cron!, spec.timezone);
  return {
    next: (after) => cron.nextRun(new Date(after))?.getTime() ?? null,
    latest(after, until, limit) {
      if (limit <= 0 || until <= after) return [];
      // previousRuns answers the runs strictly before its reference, newest first.
      return cron
        .previousRuns(limit, new Date(until + 1))
        .map((date) => date.getTime())
        .filter((slot) => slot > after)
        .reverse();
    },
    count(after, until, max) {
      let counted = 0;
      for (let slot = cron.nextRun(new Date(after)); slot !== null && slot.getTime() <= until && counted < max; slot = cron.nextRun(slot)) counted += 1;
      return counted;
    },
  };
}

/**
 * The slots in [from, to), oldest first: at most `max`; `more` says the range holds further slots. The
 * work is bounded by `max`, not by the length of the range.
 */
export function slotsInRange(spec: ScheduleSpec, from: number, to: number, max: number): { slots: number[]; more: boolean } {
  const clock = slotClock(spec);
  const slots: number[] = [];
  for (let slot = clock.next(from - 1); slot !== null && slot < to; slot = clock.next(slot)) {
    if (slots.length === max) return { slots, more: true };
    slots.push(slot);
  }
  return { slots, more: false };
}

/** Slots in (after, until], oldest first, at most `limit` (the most recent ones are kept). */
export function slotsBetween(spec: ScheduleSpec, after: number, until: number, limit: number): { slots: number[]; dropped: number } {
  const clock = slotClock(spec);
  const slots = clock.latest(after, until, limit);
  const dropped = slots.length < limit ? 0 : clock.count(after, slots[0]! - 1, MAX_DROPPED_COUNT);
  return { slots, dropped };
}

export interface CatchUpPlan {
  /** Slots to run, oldest first. */
  run: number[];
  /** Slots passed over, recorded as skipped. */
  skip: number[];
  /** Further missed slots beyond the bound that were not even listed (counted up to MAX_DROPPED_COUNT). */
  dropped: number;
}

/**
 * What to do with the slots due since `lastSlot` (the last slot the scheduler handled), at `now`. A slot
 * is on time if it is no more than `missedAfterMs` old; on-time slots always run. Missed ones follow the
 * policy. A scheduler that never handled a slot (null) owes nothing from before it existed. The work is
 * bounded by the catch-up window, not by the length of the outage.
 */
export function planCatchUp(spec: ScheduleSpec, lastSlot: number | null, now: number): CatchUpPlan {
  if (lastSlot === null) return { run: [], skip: [], dropped: 0 };
  const bound = Math.max(1, spec.maxCatchUp) + 1;
  const { slots, dropped } = slotsBetween(spec, lastSlot, now, Math.max(bound, 50));
  const onTime = slots.filter((slot) => now - slot <= spec.missedAfterMs);
  const missed = slots.filter((slot) => now - slot > spec.missedAfterMs);
  switch (spec.missedRuns) {
    case "skip":
      return { run: onTime, skip: missed, dropped };
    case "latest": {
      if (onTime.length > 0) return { run: onTime, skip: missed, dropped };
      return { run: missed.slice(-1), skip: missed.slice(0, -1), dropped };
    }
    case "all": {
      const room = Math.max(0, spec.maxCatchUp - onTime.length);
      const kept = room === 0 ? [] : missed.slice(-room);
      return { run: [...kept, ...onTime], skip: missed.slice(0, missed.length - kept.length), dropped };
    }
  }
}

/** "90s", "15m", "6h", "1d" → milliseconds; null if not of that form. */
export function parseInterval(text: string): number | null {
  const match = /^(\d{1,6})\s*(s|m|h|d)$/.exec(text.trim());
  if (!match) return null;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}

/** A deadline is at least a minute and at most 30 days after its slot. */
export const MIN_DEADLINE_MS = 60_000;
export const MAX_DEADLINE_MS = 30 * 86_400_000;

export function parseDeadline(text: string): { ok: true; ms: number } | { ok: false; reason: string } {
  const ms = parseInterval(text);
  if (ms === null) return { ok: false, reason: `deadline ${JSON.stringify(text)} is not a duration like "30m", "2h" or "1d"` };
  if (ms < MIN_DEADLINE_MS || ms > MAX_DEADLINE_MS) return { ok: false, reason: `deadline must be between 1 minute and 30 days after the slot, got ${JSON.stringify(text)}` };
  return { ok: true, ms };
}

export function formatInterval(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function toCron(cron: string, timezone: string): Cron {
  // No callback: croner only computes times and never starts a timer of its own.
  return new Cron(cron, { timezone, mode: "5-part" });
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
 * one future slot stays armed, whatever happened before (repeated wake-ups, a schedule changed between
 * deploys or through the API). Slots already due are left alone: their alarm is about to deliver them.
 */
export function planArming(armed: ArmedSlot[], wanted: number | null, now: number): ArmingPlan {
  const future = armed.filter((entry) => entry.slot > now);
  const keep = wanted === null ? undefined : future.find((entry) => entry.slot === wanted);
  return {
    cancel: future.filter((entry) => entry !== keep).map((entry) => entry.id),
    arm: wanted !== null && keep === undefined ? wanted : null,
  };
}
