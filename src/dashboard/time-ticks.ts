/**
 * Where a chart's time axis puts its ticks and what they say, on the pipeline's clock: the step is the
 * smallest of a few round ones (minutes, hours, days, weeks) that keeps the ticks within what the axis
 * has room for, so a minute of runs reads in minutes and a month in weeks, never in fractions of a second.
 */
import { addDays, localDate, localDayStart, localIso } from "../domain/local-time";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Steps shorter than a day count on from the local day's start; longer ones fall on local midnights. */
const STEPS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY];

export interface Tick {
  at: number;
  label: string;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `Nov 28` */
function dayLabel(date: string): string {
  return `${MONTHS[Number(date.slice(5, 7)) - 1]} ${Number(date.slice(8, 10))}`;
}

/** The ticks in [from, to] (epoch ms), at most `maxTicks` of them when the range allows a step that fits. */
export function timeTicks(from: number, to: number, timezone: string, maxTicks: number): Tick[] {
  const span = Math.max(to - from, 1);
  const step = STEPS.find((candidate) => span / candidate <= Math.max(1, maxTicks)) ?? STEPS.at(-1)!;
  const ticks: Tick[] = [];
  if (step >= DAY) {
    const days = step / DAY;
    for (let date = localDate(from, timezone); ; date = addDays(date, days)) {
      const at = localDayStart(date, timezone);
      if (at > to) break;
      if (at >= from) ticks.push({ at, label: dayLabel(date) });
    }
    return ticks;
  }
  let date = localDate(from, timezone);
  let dayStart = localDayStart(date, timezone);
  for (let at = dayStart + Math.ceil((from - dayStart) / step) * step; at <= to; at += step) {
    // A new local day starts the count again (and reads as its date), whatever the step.
    const today = localDate(at, timezone);
    if (today !== date) {
      date = today;
      dayStart = localDayStart(date, timezone);
      at = dayStart;
    }
    ticks.push({ at, label: at === dayStart ? dayLabel(date) : localIso(at, timezone).slice(11, 16) });
  }
  return ticks;
}
