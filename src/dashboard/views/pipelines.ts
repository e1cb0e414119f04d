import { time } from "../../display/format";
import type { PipelineSummary } from "../api-types";
import type { DayCell } from "../day-strip";
import { $, el, fillTable, opens, row } from "../dom";
import { cadence } from "./schedule";
import { stripElement } from "./strip";

/** Every pipeline, one row each: a pipeline that cannot run says so in red, with why. */
export function renderPipelines(pipelines: readonly PipelineSummary[], selected: string | null, strips: ReadonlyMap<string, readonly DayCell[]>, open: (name: string) => void): void {
  const rows = pipelines.map((pipeline) => {
    const name = el("td");
    name.append(el("strong", pipeline.name), el("div", pipeline.description, "muted"));
    for (const problem of pipeline.problems) name.append(el("div", problem, "error"));
    const { schedule } = pipeline;
    const state = pipeline.state === "ready" ? (schedule.enabled ? "" : "paused · ") : `${pipeline.state} · `;
    const last = pipeline.lastRun;
    const lastCell = el("td", last ? `${last.status} · ${time(last.endTime, schedule.timezone)}` : "never", last?.status === "failed" ? "error" : "");
    const stripCell = el("td");
    stripCell.append(stripElement(strips.get(pipeline.name) ?? [], "small"));
    const tr = row(
      [name, el("td", `${state}${cadence(schedule)} (${schedule.timezone})`, pipeline.state === "ready" ? "" : "error"), time(schedule.nextExecuteAt, schedule.timezone), lastCell, stripCell, el("td", pipeline.destination, "wrap")],
      [pipeline.name === selected ? "selected" : "", pipeline.state === "ready" ? "" : "broken"].filter(Boolean).join(" "),
    );
    tr.dataset.pipeline = pipeline.name;
    tr.dataset.state = pipeline.state;
    return opens(tr, () => open(pipeline.name));
  });
  fillTable($<HTMLTableElement>("pipelines"), rows, "No pipelines are deployed.");
}
