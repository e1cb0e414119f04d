/**
 * `pipeline deps` and the waiting slots of `pipeline slots`, as text: which pipeline feeds which (each
 * pipeline's upstream with the slots it consumes, the pipelines that run after it, the objects and events
 * that start its runs) and what a waiting slot still waits for. Pure: the command passes the API's answer
 * in, with the clock to read times on and "now".
 */
import type { z } from "zod";
import type { PipelineSummarySchema, SlotsResponse } from "../routes/responses";
import { count, duration } from "../display/format.ts";
import { table } from "./format.ts";

type Pipeline = z.output<typeof PipelineSummarySchema>;
type Triggers = NonNullable<Pipeline["triggers"]>;
type WaitingFor = Pipeline["waiting"][number]["waitingFor"][number];
type Triggered = z.output<typeof SlotsResponse>["triggered"][number];

/** A time on some pipeline's clock (or in UTC with --utc). */
export type Clock = (ms: number | null | undefined, timezone: string) => string;

/** How many of an upstream's owed slots a line names before it says "+N more". */
const LISTED = 3;

const plural = (n: number, word: string) => `${count(n)} ${word}${n === 1 ? "" : "s"}`;

/** What one slot of the downstream consumes of the upstream, in words. */
function mapping(upstream: string, slots: Triggers["after"][number]["slots"]): string {
  return slots === "day" ? `each slot waits for the ${upstream} slots of the day before it (day)` : `each slot waits for the ${upstream} slots since its previous slot (interval)`;
}

function scheduleText(schedule: Pipeline["schedule"]): string {
  const cadence = schedule.cron ? `cron ${schedule.cron}` : schedule.every ? `every ${schedule.every}` : "no schedule";
  return `${cadence} (${schedule.timezone})${schedule.enabled ? "" : ", paused"}`;
}

/** Where objects that start a run land: `bucket/prefix…suffix`. */
function objectsText(objects: NonNullable<Triggers["objects"]>): string {
  return `${objects.bucket}/${objects.prefix}*${objects.suffix}`;
}

/**
 * What an upstream still owes a waiting slot, in a line: `orders: 2 slots not succeeded:
 * 2026-12-01 11:15:00+01:00 failed (backfill-…), 2026-12-01 12:15:00+01:00 missed`.
 */
export function owedText(entry: WaitingFor, at: (ms: number) => string): string {
  if (entry.problem !== null) return `${entry.pipeline}: ${entry.problem}`;
  const listed = entry.slots.slice(0, LISTED).map((slot) => `${at(slot.scheduledFor)} ${slot.status ?? slot.state}${slot.runId ? ` (${slot.runId})` : ""}`);
  const more = entry.count - listed.length;
  return `${entry.pipeline}: ${plural(entry.count, "slot")} not succeeded${listed.length ? `: ${listed.join(", ")}` : ""}${more > 0 ? `, +${count(more)} more` : ""}`;
}

/** Everything a waiting slot waits for, upstream by upstream. */
export function waitingText(waitingFor: readonly WaitingFor[], at: (ms: number) => string): string {
  return waitingFor.length === 0 ? "its upstream is in; waiting for the pipeline to be free" : waitingFor.map((entry) => owedText(entry, at)).join("; ");
}

/** The edges of the graph, one a line: `orders → orders-daily (day)`, `objects scheduled-pipeline-uploads/drops/*.csv → store-drops`. */
export function edgeLines(pipelines: readonly Pipeline[]): string[] {
  const lines: string[] = [];
  for (const pipeline of pipelines) {
    const triggers = pipeline.triggers;
    if (!triggers) continue;
    for (const upstream of triggers.after) lines.push(`${upstream.pipeline} → ${pipeline.name} (${upstream.slots})`);
    if (triggers.objects) lines.push(`objects ${objectsText(triggers.objects)} → ${pipeline.name}`);
    if (triggers.events.debounceMs > 0) lines.push(`events (debounce ${duration(triggers.events.debounceMs)}) → ${pipeline.name}`);
  }
  return lines;
}

/** One pipeline's place in the graph: a heading line, then label and value rows. */
export function pipelineLines(pipeline: Pipeline, all: readonly Pipeline[], at: Clock, now: number): string[] {
  const head = `${pipeline.name} · ${pipeline.state} · ${scheduleText(pipeline.schedule)}`;
  const triggers = pipeline.triggers;
  if (!triggers) return [head, "  triggers     unknown: its definition was set aside (`pipeline list` says why)"];
  const rows: [string, string][] = [];
  rows.push(["runs after", triggers.after.length === 0 ? "-" : triggers.after.map((upstream) => `${upstream.pipeline}: ${mapping(upstream.pipeline, upstream.slots)}`).join("; ")]);
  if (triggers.wait) {
    const then = triggers.wait.whenLate === "miss" ? "then the slot is missed" : "then it runs on what is there";
    rows.push(["waits", `up to ${duration(triggers.wait.waitMs)} after its slot for its upstream, ${then} (whenLate: ${triggers.wait.whenLate})`]);
  }
  const before = triggers.downstream.map((name) => {
    const slots = all.find((other) => other.name === name)?.triggers?.after.find((upstream) => upstream.pipeline === pipeline.name)?.slots;
    return slots ? `${name} (${slots})` : name;
  });
  rows.push(["runs before", before.length === 0 ? "-" : before.join(", ")]);
  if (triggers.objects) rows.push(["objects", `landing in ${objectsText(triggers.objects)} start a run (debounce ${duration(triggers.objects.debounceMs)})`]);
  const { events } = triggers;
  rows.push([
    "events",
    events.debounceMs === 0
      ? "each one posted (POST …/events) is a run"
      : `posted within ${duration(events.debounceMs)} of each other make one run (at most ${duration(events.maxWaitMs)} after the first, or at ${count(events.maxEvents)})`,
  ]);
  const zone = pipeline.schedule.timezone;
  const on = (ms: number) => at(ms, zone);
  if (pipeline.waiting.length === 0 && triggers.after.length > 0) rows.push(["waiting", "no slot"]);
  groupWaiting(pipeline.waiting, on).forEach((group, index) => {
    const oldest = group.slots[0]!;
    const late = triggers.wait ? `, late at ${on(oldest.scheduledFor + triggers.wait.waitMs)}` : "";
    const since = `${group.slots.length === 1 ? "" : "the oldest "}waiting ${duration(Math.max(0, now - oldest.since))}${late}`;
    rows.push([index === 0 ? "waiting" : "", `${group.which} (${since}): ${group.what}`]);
  });
  return [head, ...table(["", ""], rows).split("\n").slice(1).map((line) => `  ${line}`)];
}

/** The whole graph (its edges, then each pipeline), or one pipeline's place in it. */
export function depsLines(pipelines: readonly Pipeline[], only: string | null, at: Clock, now: number): string[] {
  const shown = only === null ? pipelines : pipelines.filter((pipeline) => pipeline.name === only);
  const blocks = shown.flatMap((pipeline) => ["", ...pipelineLines(pipeline, pipelines, at, now)]);
  if (only !== null) return blocks.slice(1);
  const edges = edgeLines(pipelines);
  return [edges.length === 0 ? "no pipeline runs after another, and none is started by objects or events" : "graph:", ...edges.map((edge) => `  ${edge}`), ...blocks];
}

/**
 * The waiting slots of a ledger, those that wait for the same thing together: `2026-12-02 03:27:00+01:00,
 * 2026-12-02 03:28:00+01:00 wait for orders: 1 slot not succeeded: …`.
 */
export function waitingSlotLines(slots: readonly { scheduledFor: number; state: string; waitingFor: WaitingFor[] | null }[], at: (ms: number) => string): string[] {
  const waiting = slots.filter((slot) => slot.state === "waiting").map((slot) => ({ ...slot, waitingFor: slot.waitingFor ?? [] }));
  return groupWaiting(waiting, at).map((group) => `${group.which} ${group.slots.length === 1 ? "waits" : "wait"} for ${group.what}`);
}

/** Waiting slots that wait for the same thing, together (oldest first), named in a few words. */
function groupWaiting<T extends { scheduledFor: number; waitingFor: readonly WaitingFor[] }>(slots: readonly T[], at: (ms: number) => string): { which: string; what: string; slots: T[] }[] {
  const groups = new Map<string, T[]>();
  for (const slot of slots) {
    const what = waitingText(slot.waitingFor, at);
    groups.set(what, [...(groups.get(what) ?? []), slot]);
  }
  return [...groups].map(([what, group]) => {
    const which = group.length <= LISTED ? group.map((slot) => at(slot.scheduledFor)).join(", ") : `${count(group.length)} slots, ${at(group[0]!.scheduledFor)} to ${at(group.at(-1)!.scheduledFor)}`;
    return { which, what, slots: group };
  });
}

/** Runs of the range that belong to no slot, each with what started it. */
export function triggeredLines(triggered: readonly Triggered[], at: (ms: number) => string): string[] {
  return triggered.map((run) => {
    const what =
      run.trigger === "object"
        ? run.objects.slice(0, LISTED).map((object) => object.key)
        : run.events.slice(0, LISTED).map((event) => (event.idempotencyKey ? `${event.id} (key ${event.idempotencyKey})` : event.id));
    const total = run.trigger === "object" ? run.objects.length : run.events.length;
    const more = total - what.length;
    return `${run.runId}: ${run.trigger} run, admitted ${at(run.admittedAt)}, ${plural(total, run.trigger)}: ${what.join(", ")}${more > 0 ? `, +${count(more)} more` : ""}`;
  });
}
