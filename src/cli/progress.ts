import { createLogUpdate } from "log-update";
import type { RunView } from "../domain/run-view.ts";
import { count, duration } from "../display/format.ts";
import { printable } from "./terminal-text.ts";

/** What each stage counts so far: records read, rows made of them, rows loaded. */
const DONE_WORD = { extract: "read", transform: "rows", load: "loaded" } as const;

/** A run as a few lines: the run, then each stage with its records so far, its rate and its time. */
export function runLines(run: RunView, now: number): string[] {
  const elapsed = (run.endTime ?? now) - run.startTime;
  const head = `${run.pipelineId} · ${run.pipeline} · ${run.trigger} · ${run.status} · ${duration(elapsed)}`;
  const stages = run.stages.map((stage) => {
    const records = stage.name === "extract" ? stage.inputCount : stage.outputCount;
    const took = stage.durationMs ?? (stage.status === "running" && stage.startTime !== null ? now - stage.startTime : null);
    // A stage that started ahead of its turn worked all that time too.
    const worked = took === null ? null : took + (stage.aheadMs ?? 0);
    const rate = records !== null && worked !== null && worked > 0 ? `${count(Math.round((records / worked) * 1_000))}/s` : "";
    const done = records === null ? "" : `${count(records)} ${DONE_WORD[stage.name]}`;
    const ahead = stage.aheadMs === undefined ? [] : [`started ${duration(stage.aheadMs)} ahead`];
    const note = stage.reusedFrom ? `reused from ${stage.reusedFrom}` : [...(stage.attempts > 1 ? [`attempt ${stage.attempts}`] : []), ...ahead].join(", ");
    return `  ${stage.name.padEnd(10)} ${stage.status.padEnd(10)} ${done.padStart(20)} ${rate.padStart(12)} ${(took === null ? "" : duration(took)).padStart(8)}  ${note}`.trimEnd();
  });
  return [head, ...stages];
}

/** The last lines of a finished run: its books, its error, where to look. */
export function outcomeLines(run: RunView): string[] {
  const { accounting } = run;
  const lines = [`extracted ${count(accounting.extracted)} = loaded ${count(accounting.loaded)} + rejected ${count(accounting.rejected)} + skipped ${count(accounting.skipped)}`];
  if (run.error) lines.push(`error: ${run.error}`);
  if (run.retry) lines.push(`retry of ${run.retry.of} from ${run.retry.fromStage}${run.retry.note ? ` (${run.retry.note})` : ""}`);
  if (run.definition) {
    const version = run.definition.workerVersion ? ` · worker version ${run.definition.workerVersion.tag ?? run.definition.workerVersion.id}` : "";
    lines.push(`definition ${run.definition.fingerprint}${version}`);
    for (const change of run.definition.changes) lines.push(`  ${change.note}`);
  }
  if (run.source?.objectCounts) lines.push(`objects: ${count(run.source.objectCounts.read)} read, ${count(run.source.objectCounts.skipped)} passed over`);
  return lines;
}

/** How many of a run's consumed runs, objects or events a line names before it says "+N more". */
const LISTED = 3;

function listed(items: readonly string[]): string {
  const more = items.length - LISTED;
  return `${items.slice(0, LISTED).join(", ")}${more > 0 ? `, +${count(more)} more` : ""}`;
}

/**
 * What fed a run and what started it, beyond its trigger: the upstream runs it consumed (per upstream:
 * how many, for which of its slots, the first few ids), what was missing when it ran late, the objects or
 * events that started it, the cascade it belongs to. Slot times read on `at`'s clock. None for a run that
 * only its clock or a person started.
 */
export function lineageLines(run: RunView, at: (ms: number) => string): string[] {
  const { lineage } = run;
  const lines: string[] = [];
  const byUpstream = new Map<string, typeof lineage.upstream>();
  for (const consumed of lineage.upstream) byUpstream.set(consumed.pipeline, [...(byUpstream.get(consumed.pipeline) ?? []), consumed]);
  for (const [pipeline, runs] of byUpstream) {
    const slots = runs.length === 1 ? `its slot ${at(runs[0]!.scheduledFor)}` : `its slots ${at(runs[0]!.scheduledFor)} to ${at(runs.at(-1)!.scheduledFor)}`;
    lines.push(`upstream ${pipeline}: ${count(runs.length)} run${runs.length === 1 ? "" : "s"} for ${slots}: ${listed(runs.map((consumed) => consumed.runId))}`);
  }
  if (lineage.missingUpstream) lines.push(`ran without all its upstream: ${lineage.missingUpstream}`);
  if (lineage.objects.length > 0) lines.push(`started by ${count(lineage.objects.length)} object${lineage.objects.length === 1 ? "" : "s"}: ${listed(lineage.objects.map((object) => object.key))}`);
  if (lineage.events.length > 0) {
    lines.push(`started by ${count(lineage.events.length)} event${lineage.events.length === 1 ? "" : "s"}: ${listed(lineage.events.map((event) => (event.idempotencyKey ? `${event.id} (key ${event.idempotencyKey})` : event.id)))}`);
  }
  if (lineage.cascadeOf) lines.push(`part of the cascade of backfill ${lineage.cascadeOf}`);
  return lines;
}

/**
 * Shows a run as it goes. In a terminal the lines are redrawn in place (log-update); elsewhere (a pipe,
 * CI) a line is printed whenever a stage changes status, so logs stay readable.
 */
export class LiveProgress {
  private readonly stream: NodeJS.WriteStream;
  private readonly redraw: ReturnType<typeof createLogUpdate> | null;
  private readonly seen = new Map<string, string>();

  constructor(stream: NodeJS.WriteStream) {
    this.stream = stream;
    this.redraw = canRedraw(stream) ? createLogUpdate(stream, { showCursor: false }) : null;
  }

  show(run: RunView, now = Date.now()): void {
    if (this.redraw) {
      this.redraw(printable(runLines(run, now).join("\n")));
      return;
    }
    const [, ...stages] = runLines(run, now);
    if (!this.seen.has("run")) {
      this.stream.write(`${printable(`${run.pipelineId} · ${run.pipeline} · ${run.trigger}`)}\n`);
      this.seen.set("run", run.status);
    }
    run.stages.forEach((stage, index) => {
      if (stage.status === "pending" || this.seen.get(stage.name) === stage.status) return;
      this.seen.set(stage.name, stage.status);
      this.stream.write(`${printable(stages[index]!)}\n`);
    });
  }

  /** The final picture, kept on screen. */
  done(run: RunView): void {
    if (this.redraw) {
      this.redraw(printable(runLines(run, Date.now()).join("\n")));
      this.redraw.done();
    } else {
      this.show(run);
      this.stream.write(`${printable(runLines(run, Date.now())[0]!)}\n`);
    }
    for (const line of outcomeLines(run)) this.stream.write(`${printable(line)}\n`);
  }
}

/** Redrawing in place needs a terminal with a size (log-update shows nothing in a 0-row one). */
export function canRedraw(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && (stream.rows ?? 0) > 0 && (stream.columns ?? 0) > 0;
}
