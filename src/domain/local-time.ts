/**
 * Moments as a pipeline's time zone shows them: the API keeps epoch ms (and ISO UTC where it had it) and
 * adds this where a person reads a slot; the CLI and the dashboard show the same. Dates a person types for
 * a pipeline ("2026-11-01") are that pipeline's days: the day's first instant in its zone.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-CA", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
    formatters.set(timezone, format);
  }
  return format;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallClock(ms: number, timezone: string): WallClock {
  const parts = Object.fromEntries(formatter(timezone).formatToParts(new Date(ms)).map((part) => [part.type, Number(part.value)]));
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

/** The zone's offset from UTC at `ms`, in minutes (−300 for New York in winter). */
export function offsetMinutes(ms: number, timezone: string): number {
  const clock = wallClock(ms, timezone);
  const asUtc = Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute, clock.second);
  return Math.round((asUtc - Math.floor(ms / 1_000) * 1_000) / 60_000);
}

const two = (value: number) => String(value).padStart(2, "0");

function offsetText(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const size = Math.abs(minutes);
  return `${sign}${two(Math.floor(size / 60))}:${two(size % 60)}`;
}

/** `2026-11-28T03:00:00-05:00`: the moment on the zone's wall clock, with its offset (`Z` for UTC). */
export function localIso(ms: number, timezone: string): string {
  if (timezone === "UTC") return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  const clock = wallClock(ms, timezone);
  return `${clock.year}-${two(clock.month)}-${two(clock.day)}T${two(clock.hour)}:${two(clock.minute)}:${two(clock.second)}${offsetText(offsetMinutes(ms, timezone))}`;
}

/** The zone's calendar date of `ms`: `2026-11-28`. */
export function localDate(ms: number, timezone: string): string {
  return localIso(ms, timezone).slice(0, 10);
}

/**
 * The first instant of `date` (YYYY-MM-DD) in the zone: its midnight, or the first moment after a gap
 * where a zone skips midnight. The local date only ever moves forward with time, so a search over the
 * 30 hours around UTC midnight finds it.
 */
export function localDayStart(date: string, timezone: string): number {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  const utcMidnight = new Date(0).setUTCFullYear(year, month - 1, day);
  // Zones reach UTC+14 and UTC−12: the day starts within 15 hours of UTC midnight either way.
  let low = utcMidnight - 15 * 3_600_000;
  let high = utcMidnight + 15 * 3_600_000;
  while (high - low > 1_000) {
    const middle = low + Math.floor((high - low) / 2_000) * 1_000;
    if (localDate(middle, timezone) >= date) high = middle;
    else low = middle;
  }
  return high;
}

/** A time a person gave for a pipeline: a moment, or a day of the pipeline's calendar. */
export type TimeInput = { at: number } | { day: string };

/** The moment a time input stands for in `timezone` (a day is its first instant there, never before 1970). */
export function resolveTime(input: TimeInput, timezone: string): number {
  return "at" in input ? input.at : Math.max(0, localDayStart(input.day, timezone));
}

/** The calendar date `days` after `date` (YYYY-MM-DD; negative goes back): plain calendar arithmetic, no zone. */
export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  const moved = new Date(new Date(0).setUTCFullYear(year, month - 1, day + days));
  return moved.toISOString().slice(0, 10);
}
