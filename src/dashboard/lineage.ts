/**
 * How a run's trigger and lineage, and what a waiting slot waits for, read on the dashboard: text with
 * links to the runs and pipelines it names (a part is a string, or a link the view makes an anchor).
 * Pure: the tests read the parts, the views turn them into nodes.
 */
import { time } from "../display/format";
import type { Run, SlotEntry } from "./api-types";

/** A link to a pipeline (`runId` null) or to one of its runs, with the words it shows. */
export interface LinkPart {
  pipeline: string;
  runId: string | null;
  text: string;
}

export type Part = string | LinkPart;

type WaitingFor = NonNullable<SlotEntry["waitingFor"]>[number];

/** How many consumed runs, upstream slots, objects or events are named before "and N more". */
const LISTED = 6;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** `a, b, c` for links: the parts of each item with commas between, then "and N more". */
function listOf<T>(items: readonly T[], part: (item: T) => Part[], limit = LISTED): Part[] {
  const parts = items.slice(0, limit).flatMap((item, index) => (index === 0 ? part(item) : [", ", ...part(item)]));
  if (items.length > limit) parts.push(` and ${items.length - limit} more`);
  return parts;
}

/** What started the run, when its trigger word alone does not say. */
const STARTED: Partial<Record<Run["trigger"], string>> = {
  upstream: "Started once its upstream was in (the slot had waited for it). ",
  object: "Started by objects landing. ",
  event: "Started by events posted. ",
};

/**
 * The run's lineage: the upstream runs its slot consumed (linked, per upstream), what it ran without,
 * the objects or events that started it, the cascade it is part of. Empty for a run only its clock or a
 * person started. Slot times on `timezone`'s clock.
 */
export function lineageParts(run: Run, timezone: string): Part[] {
  const { lineage } = run;
  const parts: Part[] = [];
  const started = STARTED[run.trigger];
  if (started) parts.push(started);
  const byUpstream = new Map<string, Run["lineage"]["upstream"]>();
  for (const consumed of lineage.upstream) byUpstream.set(consumed.pipeline, [...(byUpstream.get(consumed.pipeline) ?? []), consumed]);
  for (const [pipeline, runs] of byUpstream) {
    const first = time(runs[0]!.scheduledFor, timezone);
    const slots = runs.length === 1 ? `its slot ${first}` : `its slots ${first} to ${time(runs.at(-1)!.scheduledFor, timezone)}`;
    parts.push("Consumed ", { pipeline, runId: null, text: pipeline }, `: ${plural(runs.length, "run")} for ${slots}: `, ...listOf(runs, (consumed) => [{ pipeline, runId: consumed.runId, text: consumed.runId }]), ". ");
  }
  if (lineage.missingUpstream) parts.push(`Ran without all its upstream: ${lineage.missingUpstream}. `);
  if (lineage.objects.length > 0) parts.push(`${lineage.objects.length === 1 ? "Object" : `${lineage.objects.length} objects`}: `, ...listOf(lineage.objects, (object) => [object.key]), ". ");
  if (lineage.events.length > 0) {
    parts.push(`${lineage.events.length === 1 ? "Event" : `${lineage.events.length} events`}: `, ...listOf(lineage.events, (event) => [event.idempotencyKey ? `${event.id} (key ${event.idempotencyKey})` : event.id]), ". ");
  }
  if (lineage.cascadeOf) parts.push(`Part of the cascade of backfill ${lineage.cascadeOf}. `);
  return parts;
}

/**
 * What a waiting slot waits for, upstream by upstream: `waiting for orders: 1 slot not succeeded
 * (2026-12-01 11:15:00+01:00 failed, backfill-…)`, the pipeline and the runs linked.
 */
export function waitingParts(waitingFor: readonly WaitingFor[], timezone: string): Part[] {
  if (waitingFor.length === 0) return ["its upstream is in; waiting for the pipeline to be free"];
  const parts: Part[] = ["waiting for "];
  waitingFor.forEach((entry, index) => {
    if (index > 0) parts.push("; ");
    parts.push({ pipeline: entry.pipeline, runId: null, text: entry.pipeline });
    if (entry.problem !== null) {
      parts.push(`: ${entry.problem}`);
      return;
    }
    parts.push(`: ${plural(entry.count, "slot")} not succeeded`);
    if (entry.slots.length === 0) return;
    const shown = entry.slots.slice(0, 3);
    parts.push(" (", ...listOf(shown, (slot) => [`${time(slot.scheduledFor, timezone)} ${slot.status ?? slot.state}`, ...(slot.runId ? [" ", { pipeline: entry.pipeline, runId: slot.runId, text: slot.runId }] : [])]));
    if (entry.count > shown.length) parts.push(` and ${entry.count - shown.length} more`);
    parts.push(")");
  });
  return parts;
}

/** The parts as plain text (a tooltip, a test). */
export function partsText(parts: readonly Part[]): string {
  return parts.map((part) => (typeof part === "string" ? part : part.text)).join("");
}

/** Each upstream a waiting slot waits for and how many of its slots, in a few words: `orders: 1 slot not succeeded`. */
export function waitingSummary(waitingFor: readonly WaitingFor[]): string {
  if (waitingFor.length === 0) return "the pipeline to be free";
  return waitingFor.map((entry) => (entry.problem !== null ? `${entry.pipeline} (${entry.problem})` : `${entry.pipeline} (${plural(entry.count, "slot")} not succeeded)`)).join(", ");
}
