/**
 * The slot ledger as a strip of days on the pipeline's calendar: each day takes the colour of its worst
 * slot, and a day with runs outside the schedule (manual runs) carries a mark of their own, so a run
 * started by hand is seen on the day it ran even when no slot was due. A day with slots waiting for their
 * upstream says in its title what they wait for.
 */
import { addDays, localDate, localDayStart } from "../domain/local-time";
import type { RunStatus } from "../domain/run";
import type { SlotEntry } from "./api-types";
import { waitingSummary } from "./lineage";

/** How a slot reads, worst first: a day shows the first of these any of its slots has. */
export const SLOT_CLASSES = ["failed", "missed", "late", "waiting", "running", "backfilled", "skipped", "ok", "pending"] as const;
export type SlotClass = (typeof SLOT_CLASSES)[number];

const LABELS: Record<SlotClass, string> = {
  failed: "failed",
  missed: "missed",
  late: "late",
  waiting: "waiting for upstream",
  running: "running",
  backfilled: "backfilled",
  skipped: "skipped",
  ok: "ok",
  pending: "to come",
};

/**
 * A slot whose newest run is a backfill's reads as backfilled (or failed, or running): the slot's own
 * judgement (late, missed deadline) stays in the table, and the day shows it was filled in afterwards.
 */
export function slotClass(slot: SlotEntry): SlotClass {
  if (slot.state !== "ran") return slot.state;
  const status = slot.backfill !== null && slot.backfill.runId === slot.runId ? slot.backfill.status : slot.status;
  if (status === "running") return "running";
  if (status !== "succeeded") return "failed";
  if (slot.backfill !== null && slot.backfill.runId === slot.runId) return "backfilled";
  return slot.deadlineMet === false ? "late" : "ok";
}

/** A run outside the schedule, as the stats series lists it. */
export interface OutsideRun {
  startTime: number;
  status: RunStatus;
}

export interface DayCell {
  /** The pipeline's calendar date, YYYY-MM-DD. */
  date: string;
  /** Its first instant in the pipeline's zone, and the next day's. */
  from: number;
  to: number;
  worst: SlotClass | "none";
  /** How many of the day's slots read each way, worst first. */
  slots: { reads: SlotClass; count: number }[];
  /** What the day's newest waiting slot waits for (`orders (1 slot not succeeded)`); null when none waits. */
  waitingFor: string | null;
  /** The day's runs outside the schedule: how many, how many did not succeed; null when none. */
  outside: { runs: number; unsuccessful: number } | null;
  /** The day in words, for a tooltip and for screen readers. */
  title: string;
}

export function dayStrip(input: { slots: readonly SlotEntry[]; outside: readonly OutsideRun[]; now: number; timezone: string; days: number }): DayCell[] {
  const today = localDate(input.now, input.timezone);
  const cells: DayCell[] = [];
  for (let back = input.days - 1; back >= 0; back -= 1) {
    const date = addDays(today, -back);
    const from = localDayStart(date, input.timezone);
    const to = localDayStart(addDays(date, 1), input.timezone);
    const day = input.slots.filter((slot) => slot.scheduledFor >= from && slot.scheduledFor < to);
    const classes = day.map(slotClass);
    const waiting = day.findLast((slot) => slot.state === "waiting");
    const waitingFor = waiting ? waitingSummary(waiting.waitingFor ?? []) : null;
    const slots = SLOT_CLASSES.map((reads) => ({ reads, count: classes.filter((entry) => entry === reads).length })).filter((entry) => entry.count > 0);
    const runs = input.outside.filter((run) => run.startTime >= from && run.startTime < to && run.status !== "skipped");
    const outside = runs.length === 0 ? null : { runs: runs.length, unsuccessful: runs.filter((run) => run.status === "failed" || run.status === "cancelled").length };
    const slotWords = slots.length === 0 ? "no slot" : slots.map((entry) => `${entry.count} ${LABELS[entry.reads]}`).join(", ");
    const outsideWords = outside === null ? "" : `; ${outside.runs} run${outside.runs === 1 ? "" : "s"} outside the schedule${outside.unsuccessful ? ` (${outside.unsuccessful} not successful)` : ""}`;
    const waitingWords = waitingFor === null ? "" : `; waiting for ${waitingFor}`;
    cells.push({ date, from, to, worst: slots[0]?.reads ?? "none", slots, waitingFor, outside, title: `${date}: ${slotWords}${waitingWords}${outsideWords}` });
  }
  return cells;
}
