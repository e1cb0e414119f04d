import { contractLine } from "../../display/contract";
import { count, duration, time } from "../../display/format";
import { api } from "../api";
import type { Rejected, Run } from "../api-types";
import { $, el, facts, fillTable, partNodes, row, runLink, type Cell } from "../dom";
import { lineageParts } from "../lineage";
import { renderChecks } from "./checks";
import { renderStages } from "./stages";

/**
 * The open run: its line, what fed and started it (the upstream runs it consumed, linked; the objects or
 * events that started it), links to retries and its backfill, stages, source report, books, alerts and
 * rejected records.
 */
export class RunCard {
  private nextRejected: string | null = null;
  /** Renders can overlap (a refresh, a click): only the newest may fill in the rejected records. */
  private render = 0;
  private shownRun: string | null = null;

  constructor(private readonly base: () => string) {}

  /** The run on screen, or null when the card is closed. */
  get shown(): string | null {
    return this.shownRun;
  }

  hide(): void {
    $("run-card").hidden = true;
    this.shownRun = null;
  }

  /** Shows `run`, its times on the pipeline's clock (its slot as its schedule read it). */
  show(run: Run, timezone: string): Promise<void> {
    const card = $("run-card");
    card.hidden = false;
    card.dataset.runId = run.pipelineId;
    card.className = `card wide ${run.status}`;
    this.shownRun = run.pipelineId;
    $("run-id").textContent = run.pipelineId;
    $("run-line").textContent =
      `${run.status} · ${run.trigger}${run.scheduledForLocal ? ` for ${run.scheduledForLocal.replace("T", " ")}` : ""} · started ${time(run.startTime, timezone)} · ${duration(run.totalDuration)}` +
      (run.resumes ? ` · resumed ${run.resumes}×` : "") +
      (run.note ? ` · note: ${run.note}` : "") +
      (Object.keys(run.params).length ? ` · params ${JSON.stringify(run.params)}` : "");
    const lineage = lineageParts(run, timezone);
    $("run-lineage").hidden = lineage.length === 0;
    $("run-lineage").replaceChildren(...partNodes(lineage));
    $("run-links").replaceChildren(...runLinks(run));
    const retryable = run.status === "failed" || run.status === "cancelled";
    // A batch its checks blocked would be blocked again from load: after a fix, it is transformed again.
    const blocked = run.errorCode === "checks_failed";
    const retryFrom = blocked ? "transform" : (run.stages.find((stage) => stage.status !== "succeeded")?.name ?? "extract");
    $("run-retry").hidden = !retryable;
    $("run-retry").textContent = blocked ? "Retry from transform (after a fix)" : `Retry from ${retryFrom}`;
    $("run-retry").dataset.fromStage = blocked ? "transform" : "";
    $("run-error").textContent = run.error ?? "";
    renderChecks(run, timezone);
    renderStages($("run-stages"), run);
    const { source } = run;
    facts(
      $("run-source"),
      source
        ? [
            ["source", `${source.name} (${source.kind})${source.served ? "" : " — did not serve the records"}`],
            ["url", source.url ?? "-"],
            ["format", source.format ?? "-"],
            ["pages", `${source.pages}${source.truncated ? " (stopped at the page limit)" : ""}`],
            ["tries", `${source.attempts}${source.attemptErrors.length ? `: ${source.attemptErrors.join("; ")}` : ""}`],
            ["watermark", source.watermark ?? "-"],
            ...source.skipped.map((skipped) => [`skipped ${skipped.name}`, skipped.reason] as const),
          ]
        : [["source", run.stages[0]?.reusedFrom ? `not read: the extract was reused from ${run.stages[0].reusedFrom}` : "not read"]],
    );
    const books = run.accounting;
    const drift = contractLine(run.contract);
    facts($("run-accounting"), [
      ["extracted", count(books.extracted)],
      ["loaded", count(books.loaded)],
      ["rejected", count(books.rejected)],
      ["skipped", count(books.skipped)],
      ["balanced", books.balanced ? "yes" : "no"],
      // Fields the record schema does not know: new, discarded or rejected for (the pipeline's contract).
      ...(drift ? [["fields", drift] as const] : []),
      ["destination", run.finalResult?.destination ?? "-"],
    ]);
    $("run-alerts").textContent = run.alerts.length ? run.alerts.map((alert) => `${alert.event}: ${alert.status}${alert.error ? ` (${alert.error})` : ""}`).join("; ") : "none";
    $("run-rejected-count").textContent = `(${count(run.rejectedCount)})`;
    this.render += 1;
    this.nextRejected = null;
    return this.moreRejected(run.pipelineId, this.render);
  }

  /** The next page of the open run's rejected records (the first when `render` is a new one). */
  async moreRejected(runId = this.shownRun, render = this.render): Promise<void> {
    if (!runId) return;
    const first = this.nextRejected === null;
    const query = new URLSearchParams({ limit: "50", ...(first ? {} : { cursor: this.nextRejected! }) });
    const page = await api<Rejected>(`${this.base()}/runs/${encodeURIComponent(runId)}/rejected?${query}`);
    if (render !== this.render) return;
    const table = $<HTMLTableElement>("run-rejected");
    const rows = page.rejected.map((rejection) => row([String(rejection.position), el("td", rejection.id ?? "-", "wrap"), rejection.stage, el("td", rejection.reason, "wrap"), el("td", rejection.raw, "raw")]));
    fillTable(table, first ? rows : [...table.tBodies[0]!.rows, ...rows], "None.");
    this.nextRejected = page.nextCursor;
    $("run-rejected-more").hidden = !page.nextCursor;
  }
}

function runLinks(run: Run): Cell[] {
  const links: Cell[] = [];
  const link = (id: string) => runLink(run.pipeline, id);
  if (run.retry) {
    const { retry } = run;
    links.push("retry of ", link(retry.of), ` from ${retry.fromStage}${retry.reused.length ? `, reusing ${retry.reused.join(" and ")}` : ""}${retry.note ? ` (${retry.note})` : ""}. `);
  }
  if (run.retriedBy.length) links.push("retried by ", ...run.retriedBy.flatMap((id, index) => (index ? [", ", link(id)] : [link(id)])), ". ");
  if (run.backfillId) links.push(`part of backfill ${run.backfillId}. `);
  if (run.definition) {
    const version = run.definition.workerVersion ? `, worker version ${run.definition.workerVersion.tag ?? run.definition.workerVersion.id}` : "";
    links.push(`Definition ${run.definition.fingerprint}${version}. `);
    for (const change of run.definition.changes) links.push(`${change.note}. `);
  }
  if (run.source?.objectCounts) links.push(`Objects: ${run.source.objectCounts.read} read, ${run.source.objectCounts.skipped} passed over. `);
  return links;
}
