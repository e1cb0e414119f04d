import type { Trigger } from "./run";

/** Manual runs are named after the moment they were requested. */
export function manualRunId(now: number): string {
  return `manual-${now}`;
}

/**
 * Scheduled runs are named after their slot, not after when the alarm happened to fire, so a second
 * delivery of the same alarm names the same run and cannot start another one.
 */
export function scheduledRunId(slotTime: number): string {
  return `scheduled-${slotTime}`;
}

const RUN_ID = /^(manual|scheduled)-(\d{1,16})$/;

export function parseRunId(id: string): { trigger: Trigger; time: number } | null {
  const match = RUN_ID.exec(id);
  if (!match) return null;
  return { trigger: match[1] as Trigger, time: Number(match[2]) };
}
