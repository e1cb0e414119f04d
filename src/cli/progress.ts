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
    const rate = records !== null && took !== null && took > 0 ? `${count(Math.round((records / took) * 1_000))}/s` : "";
    const done = records === null ? "" : `${count(records)} ${DONE_WORD[stage.name]}`;
    const note = stage.reusedFrom ? `reused from ${stage.reusedFrom}` : stage.attempts > 1 ? `attempt ${stage.attempts}` : "";
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
