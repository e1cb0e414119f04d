import { time } from "../../display/format";
import type { PipelineSummary, ScheduleView } from "../api-types";
import { $ } from "../dom";

export function cadence(schedule: { cron: string | null; every: string | null }): string {
  return schedule.cron ? `cron ${schedule.cron}` : schedule.every ? `every ${schedule.every}` : "no schedule";
}

let shown: ScheduleView | null = null;

/**
 * The schedule card. A schedule that cannot be read (the pipeline is misconfigured) shows what the
 * pipeline declares, in its declared zone, with the error, and nothing that would act on it is enabled.
 */
export function renderSchedule(view: ScheduleView, pipeline: PipelineSummary): void {
  shown = view;
  const broken = view.error !== undefined || pipeline.state !== "ready";
  const state = broken ? "Misconfigured — " : view.enabled ? "" : "Paused — ";
  $("schedule-line").textContent = `${state}${cadence(view)} (${view.timezone})`;
  const card = $("schedule-card");
  card.classList.toggle("paused", !broken && !view.enabled);
  card.classList.toggle("broken", broken);
  $("schedule-error").textContent = view.error ?? pipeline.problems.join("; ");
  $("schedule-details").textContent =
    `Missed runs: ${view.missedRuns}. Last scheduled run: ${time(view.lastExecutedAt, view.timezone)}. ${view.executionCount} scheduled runs so far.` +
    (view.deadline ? ` Deadline: ${view.deadline} after each slot.` : "") +
    (view.backlog.length ? ` ${view.backlog.length} missed slots waiting.` : "") +
    (view.source === "api" ? " Set through the API." : "");
  $<HTMLButtonElement>("pause").disabled = broken || !view.enabled;
  $<HTMLButtonElement>("resume").disabled = broken || view.enabled;
  $<HTMLButtonElement>("trigger").disabled = broken;
  $("next-at").textContent = view.nextExecuteAt ? `(${time(view.nextExecuteAt, view.timezone)})` : "";
  tick();
}

export function clearSchedule(): void {
  shown = null;
  tick();
}

/** The countdown to the next run, once a second. */
export function tick(): void {
  const countdown = $("countdown");
  if (!shown) {
    countdown.textContent = "—";
    return;
  }
  if (shown.error !== undefined) {
    countdown.textContent = "— (misconfigured)";
    return;
  }
  if (!shown.nextExecuteAt || !shown.enabled) {
    countdown.textContent = shown.enabled ? "—" : "— (paused)";
    return;
  }
  let left = Math.max(0, Math.round((shown.nextExecuteAt - Date.now()) / 1000));
  const parts: string[] = [];
  // Once a unit shows, every smaller one does too: "22h 0m 15s", not "22h 15s".
  for (const [size, unit] of [
    [86_400, "d"],
    [3_600, "h"],
    [60, "m"],
  ] as const) {
    if (left >= size || parts.length > 0) {
      parts.push(`${Math.floor(left / size)}${unit}`);
      left %= size;
    }
  }
  parts.push(`${left}s`);
  countdown.textContent = parts.join(" ");
}
