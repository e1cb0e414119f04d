import { formatInterval, nextSlot, slotInterval, type ArmedSlot, type MissedRunPolicy, type ScheduleSpec } from "../../domain/schedule";
import { localIso } from "../../domain/local-time";
import type { ScheduleStore } from "./schedule-store";

/** A pipeline's schedule as the API shows it: the seed's shape, one element per schedule. */
export interface ScheduleView {
  id: string | null;
  name: string;
  scheduleType: "recurring";
  cron: string | null;
  /** Fixed interval, as written ("6h"); null for a cron schedule. */
  every: string | null;
  timezone: string;
  /** The gap to the slot after the next one, in ms (86,400,000 for a daily schedule). */
  interval: number | null;
  enabled: boolean;
  missedRuns: MissedRunPolicy;
  maxCatchUp: number;
  /** Where the schedule comes from: set through the API, or the pipeline's definition and variables. */
  source: "api" | "config";
  nextExecuteAt: number | null;
  /** The same moments on the schedule's wall clock, with the offset. */
  nextExecuteAtLocal: string | null;
  lastExecutedAt: number | null;
  lastExecutedAtLocal: string | null;
  executionCount: number;
  /** Missed slots waiting to run (policy "all"). */
  backlog: number[];
  /** How long after its slot a run must have succeeded ("2h"), or null: no lateness alerts. */
  deadline: string | null;
  error?: string;
}

/** What the hourly check found, for the stats. */
export interface ScheduleHealth {
  /** When the hourly check last ran. */
  lastCheckAt: number | null;
  /** How often the check (or a wake-up) found the next slot's alarm missing or unset and re-armed it. */
  rearms: number;
  lastRearmAt: number | null;
  lastRearmReason: string | null;
}

export interface ViewInput {
  name: string;
  /** The schedule in force, or why there is none (a misconfigured or removed pipeline). */
  spec: { ok: true; spec: ScheduleSpec } | { ok: false; error: string };
  /** What the pipeline declares (cron or interval, zone), shown when the schedule in force cannot be read. */
  configured?: { cron: string | null; every: string | null; timezone: string };
  source: "api" | "config";
  armed: readonly ArmedSlot[];
  state: { executionCount: number; lastExecutedAt: number | null };
  backlog: number[];
  now: number;
}

export function scheduleView(input: ViewInput): ScheduleView {
  const armed = [...input.armed].sort((a, b) => a.slot - b.slot);
  const next = armed.find((entry) => entry.slot > input.now) ?? armed[0];
  const identity = { id: next?.id ?? null, name: input.name, scheduleType: "recurring" as const };
  const zone = input.spec.ok ? input.spec.spec.timezone : (input.configured?.timezone ?? "UTC");
  const local = (at: number | null) => (at === null ? null : localIso(at, zone));
  const history = { lastExecutedAt: input.state.lastExecutedAt, lastExecutedAtLocal: local(input.state.lastExecutedAt), executionCount: input.state.executionCount, backlog: input.backlog };
  if (!input.spec.ok) {
    // Misconfigured: what the pipeline declares, so it reads as what it is, not as a paused schedule.
    const declared = input.configured ?? { cron: null, every: null, timezone: "UTC" };
    return { ...identity, cron: declared.cron, every: declared.every, timezone: declared.timezone, interval: null, enabled: false, missedRuns: "latest", maxCatchUp: 10, source: input.source, nextExecuteAt: null, nextExecuteAtLocal: null, ...history, deadline: null, error: input.spec.error };
  }
  const { spec } = input.spec;
  const nextExecuteAt = spec.enabled ? (next?.slot ?? nextSlot(spec, input.now)) : null;
  return {
    ...identity,
    cron: spec.cron,
    every: spec.intervalMs === null ? null : formatInterval(spec.intervalMs),
    timezone: spec.timezone,
    interval: slotInterval(spec, input.now),
    enabled: spec.enabled,
    missedRuns: spec.missedRuns,
    maxCatchUp: spec.maxCatchUp,
    source: input.source,
    nextExecuteAt,
    nextExecuteAtLocal: local(nextExecuteAt),
    ...history,
    deadline: spec.deadlineMs === null ? null : formatInterval(spec.deadlineMs),
  };
}

export function scheduleHealth(store: ScheduleStore): ScheduleHealth {
  const number = (key: Parameters<ScheduleStore["meta"]>[0]) => {
    const value = store.meta(key);
    return value === null ? null : Number(value);
  };
  return { lastCheckAt: number("last_check_at"), rearms: number("rearms") ?? 0, lastRearmAt: number("last_rearm_at"), lastRearmReason: store.meta("last_rearm_reason") };
}
