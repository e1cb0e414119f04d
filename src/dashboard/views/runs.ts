import { count, duration, time } from "../../display/format";
import type { History, Run } from "../api-types";
import { $, el, fillTable, opens, row, runLink } from "../dom";
import { renderStages } from "./stages";

/** The last finished run, in a line, with its stages; times on the pipeline's clock. */
export function renderLast(run: Run | null, timezone: string): void {
  const line = $("last-run");
  if (!run) {
    line.className = "muted";
    line.textContent = "No run has finished yet.";
    $("last-stages").replaceChildren();
    return;
  }
  line.className = `run-line ${run.status}`;
  const name = el("strong");
  name.append(runLink(run.pipeline, run.pipelineId));
  line.replaceChildren(
    name,
    el("span", ` ${run.status} · ${run.trigger} · ${time(run.startTime, timezone)} · ${duration(run.totalDuration)} · loaded ${count(run.finalResult?.recordCount)} · rejected ${count(run.rejectedCount)}`),
  );
  if (run.error) line.append(el("div", run.error, "error"));
  renderStages($("last-stages"), run);
}

/** The history table and its summary; the running run, if any, in its own card. Returns its id. */
export function renderHistory(page: History, timezone: string, open: (runId: string) => void): string | null {
  const { summary } = page;
  $("summary-line").textContent =
    `${count(summary.totalRuns)} runs · ${count(summary.succeeded)} succeeded · ${count(summary.failed)} failed · ` +
    `success rate ${summary.successRate === null ? "-" : `${Math.round(summary.successRate * 100)}%`} · average ${duration(summary.averageDurationMs)}`;
  const rows = page.runs.map((run) => {
    const tr = row(
      [
        el("td", run.pipelineId, "wrap"),
        run.trigger,
        el("td", run.status, "status"),
        time(run.startTime, timezone),
        duration(run.totalDuration),
        count(run.finalResult?.recordCount),
        count(run.rejectedCount),
        run.stages.map((stage) => `${stage.name}: ${stage.reusedFrom ? "reused" : stage.status}`).join(", "),
      ],
      run.status,
    );
    tr.dataset.runId = run.pipelineId;
    return opens(tr, () => open(run.pipelineId));
  });
  fillTable($<HTMLTableElement>("history"), rows, "No runs yet.");
  const active = page.runs.find((run) => run.status === "running") ?? null;
  $("active-card").hidden = !active;
  if (active) {
    $("active-id").textContent = active.pipelineId;
    renderStages($("active-stages"), active);
  }
  return active?.pipelineId ?? null;
}
