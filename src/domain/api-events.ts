/**
 * Events posted to the API (`POST …/events`): which run an event joins and when that run is due, and the
 * Idempotency-Key rules. Pure: the scheduler's event intake stores what these decide and starts the runs.
 */

export const EVENT_STATUSES = ["pending", "started"] as const;
/** `pending`: its run has not started (its debounce window is open, or the pipeline is busy); `started`: it has. */
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** A repeated request with the same Idempotency-Key answers the first one's event for at least this long. */
export const IDEMPOTENCY_KEY_TTL_MS = 48 * 3_600_000;
/** Events and the runs they made are kept this long after the run started (the slot ledger lists them). */
export const EVENT_RETENTION_MS = 30 * 86_400_000;
/** A due event run that finds the pipeline busy tries again this often. */
export const EVENT_RETRY_MS = 15_000;
/** Event runs waiting to start, at most: beyond it a new run is refused (429) until some have started. */
export const MAX_PENDING_EVENT_RUNS = 1_000;
/** A run lists at most this many events; the next equal event starts another run. */
export const MAX_EVENTS_PER_RUN = 1_000;
/** Without `maxWait`, a debounced run waits at most this many debounces after its first event. */
export const DEFAULT_MAX_WAIT_FACTOR = 10;

/** An Idempotency-Key as this API takes it: 1 to 255 visible ASCII characters (a UUID is one). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
export const IDEMPOTENCY_KEY_RULE = "must be 1 to 255 visible ASCII characters (letters, digits, punctuation; no spaces)";

/** How the pipeline batches its events (`triggers.events`, resolved). */
export interface EventWindow {
  /** 0: every event is a run of its own, due at once. */
  debounceMs: number;
  /** The longest a run waits after its first event, however many follow. */
  maxWaitMs: number;
  /** A run holding this many events is due at once. */
  maxEvents: number;
}

/** A run that still takes events: not started, and due later than now. */
export interface OpenEventRun {
  runId: string;
  /** When its first event arrived. */
  openedAt: number;
  startsAt: number;
  events: number;
}

export type Placement = { kind: "join"; runId: string; startsAt: number } | { kind: "open"; startsAt: number };

/**
 * Where an event received at `now` goes. Without a debounce it opens a run of its own, due now. With one,
 * the open run of the same params takes it, and that run's start moves to a debounce after this event
 * (a sliding window), never later than `maxWaitMs` after its first event; the event that fills a run to
 * `maxEvents` makes it due now. With no open run of those params, a new one opens, due a debounce from now.
 */
export function placeEvent(open: OpenEventRun | null, now: number, window: EventWindow): Placement {
  if (window.debounceMs === 0) return { kind: "open", startsAt: now };
  if (open === null || open.startsAt <= now || open.events >= window.maxEvents) {
    return { kind: "open", startsAt: window.maxEvents <= 1 ? now : now + window.debounceMs };
  }
  if (open.events + 1 >= window.maxEvents) return { kind: "join", runId: open.runId, startsAt: now };
  return { kind: "join", runId: open.runId, startsAt: Math.max(open.startsAt, Math.min(now + window.debounceMs, open.openedAt + window.maxWaitMs)) };
}

/**
 * A value as JSON with every object's keys in order, so two bodies that differ only in key order or
 * spacing read the same: what "the same params" and "the same request" compare.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Events are named after when they arrived and their place in the pipeline's count, which never repeats. */
export function eventId(receivedAt: number, seq: number): string {
  return `ev-${receivedAt}-${seq}`;
}
