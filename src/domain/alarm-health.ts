import type { ArmedSlot } from "./schedule";

/**
 * Whether a scheduler's alarm is really armed for its next slot, as the hourly check sees it. Two things
 * can go wrong underneath an at-least-once alarm system: the schedule row for the slot disappears, or
 * the Durable Object's own alarm is not set (or set later than the slot). Either way the slot would
 * silently never fire; the check re-arms it and says why.
 */
export interface AlarmState {
  /** The slot that should be armed next (null: paused, or no slot ahead). */
  wanted: number | null;
  armed: readonly ArmedSlot[];
  /** The Durable Object's alarm (epoch ms), or null if none is set. */
  alarmAt: number | null;
  /** The slot the scheduler last armed itself. */
  lastArmed: number | null;
  now: number;
}

/** Alarms fire at whole seconds at best: a little slack before calling one late. */
const ALARM_SLACK_MS = 1_000;

export function alarmProblem(state: AlarmState): string | null {
  if (state.wanted === null) return null;
  const at = new Date(state.wanted).toISOString();
  const row = state.armed.find((entry) => entry.slot === state.wanted);
  if (!row) return state.lastArmed === state.wanted ? `the alarm for the next slot (${at}) had disappeared` : null;
  if (state.alarmAt === null) return `the Durable Object alarm was not set (next slot ${at})`;
  if (state.alarmAt > state.wanted + ALARM_SLACK_MS) return `the Durable Object alarm was set for ${new Date(state.alarmAt).toISOString()}, after the next slot (${at})`;
  return null;
}
