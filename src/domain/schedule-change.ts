import { checkSchedule, parseDeadline, parseInterval, type MissedRunPolicy, type ScheduleSpec } from "./schedule";

/** What a client may set on a schedule. Absent fields keep their value (PATCH) or take defaults (PUT). */
export interface ScheduleChange {
  cron?: string;
  /** "90s", "15m", "6h", "1d". */
  interval?: string;
  timezone?: string;
  enabled?: boolean;
  missedRuns?: MissedRunPolicy;
  maxCatchUp?: number;
  /** How long after its slot a run must have succeeded ("2h"), or null for no deadline. */
  deadline?: string | null;
}

export type ScheduleChangeResult = { ok: true; spec: ScheduleSpec } | { ok: false; reason: string };

/**
 * Applies a change to a schedule and checks the result. Setting a cron expression clears an interval and
 * the other way round; setting both at once is refused.
 */
export function applyScheduleChange(base: ScheduleSpec, change: ScheduleChange): ScheduleChangeResult {
  if (change.cron !== undefined && change.interval !== undefined) return { ok: false, reason: "set either cron or interval, not both" };
  let intervalMs = base.intervalMs;
  let cron = base.cron;
  if (change.interval !== undefined) {
    const parsed = parseInterval(change.interval);
    if (parsed === null) return { ok: false, reason: `interval ${JSON.stringify(change.interval)} is not a duration like "90s", "15m", "6h" or "1d"` };
    intervalMs = parsed;
    cron = null;
  }
  if (change.cron !== undefined) {
    cron = change.cron.trim();
    intervalMs = null;
  }
  let deadlineMs = base.deadlineMs ?? null;
  if (change.deadline !== undefined) {
    const parsed = change.deadline === null ? null : parseDeadline(change.deadline);
    if (parsed !== null && !parsed.ok) return parsed;
    deadlineMs = parsed === null ? null : parsed.ms;
  }
  const spec: ScheduleSpec = {
    ...base,
    deadlineMs,
    cron,
    intervalMs,
    timezone: change.timezone ?? base.timezone,
    enabled: change.enabled ?? base.enabled,
    missedRuns: change.missedRuns ?? base.missedRuns,
    maxCatchUp: change.maxCatchUp ?? base.maxCatchUp,
  };
  const check = checkSchedule(spec);
  return check.ok ? { ok: true, spec } : check;
}
