/**
 * The dashboard: reads the same JSON API as curl does, every few seconds (every second while a run is
 * active). Every pipeline is listed, and drawn in the graph of which feeds which; one is shown in detail,
 * and a run of it can be opened. Where you are is in the address (#pipeline=orders&run=manual-1), so a
 * view can be shared and the back button works.
 * Times are on the pipeline's clock, as the CLI shows them.
 */
import { duration } from "../display/format";
import { addDays, localDate } from "../domain/local-time";
import { api, ApiError } from "./api";
import type { Backfills, BackfillStart, History, PipelineSummary, Pipelines, RetryStart, Run, Schedules, SlotEntry, Slots, Stats, TriggerStart } from "./api-types";
import { dayStrip, type DayCell } from "./day-strip";
import { $, viewHash } from "./dom";
import { deploymentHealth, healthText } from "./health";
import { renderBackfills } from "./views/backfills";
import { Charts } from "./views/charts";
import { renderGraph } from "./views/graph";
import { ledgerUnavailable, renderLedger } from "./views/ledger";
import { renderPipelines } from "./views/pipelines";
import { RunCard } from "./views/run-card";
import { renderHistory, renderLast } from "./views/runs";
import { cadence, clearSchedule, renderSchedule, tick } from "./views/schedule";

const LEDGER_DAYS = 30;
const LEDGER_MAX_AGE_MS = 60_000;
/** The cards that show a pipeline that can be read; a definition set aside has only its problems. */
const DETAIL_CARDS = ["schedule-card", "last-card", "ledger-card", "backfill-card", "charts-card", "history-card"];

let pipelines: PipelineSummary[] = [];
let selected: string | null = null;
let openRun: string | null = null;
let activeRunId: string | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
/**
 * Each pipeline's slots of the last 30 days, fetched at most once a minute unless its `version` changed
 * (the selected pipeline's: its runs, and how many of its slots wait for their upstream).
 */
const ledgers = new Map<string, { at: number; slots: SlotEntry[]; version: string | null }>();
/** Runs outside the schedule, of the selected pipeline, for its strip. */
let outsideRuns: Stats["series"] = [];
const charts = new Charts();
const base = () => `/api/pipelines/${encodeURIComponent(selected ?? "")}`;
const runCard = new RunCard(base);

const current = (): PipelineSummary | undefined => pipelines.find((pipeline) => pipeline.name === selected);

function say(message: string, isError = false): void {
  $("message").textContent = message;
  $("message").classList.toggle("error", isError);
}

function go(pipeline: string, run: string | null = null): void {
  const hash = viewHash(pipeline, run);
  if (location.hash !== hash) location.hash = hash;
  else follow();
}

/** Shows what the address names: a pipeline (the first when it names none we know), maybe a run. */
function follow(): void {
  const where = new URLSearchParams(location.hash.slice(1));
  const wanted = where.get("pipeline");
  const pipeline = pipelines.some((candidate) => candidate.name === wanted) ? wanted : (pipelines[0]?.name ?? null);
  if (pipeline !== selected) {
    selected = pipeline;
    activeRunId = null;
    outsideRuns = [];
    // Nothing of the previous pipeline stays on screen while the new one loads.
    runCard.hide();
    clearSchedule();
    say("");
  }
  openRun = where.get("run");
  void refresh();
}

function stripOf(pipeline: PipelineSummary, now: number): DayCell[] {
  const outside = pipeline.name === selected ? outsideRuns.filter((point) => point.scheduledFor === null) : [];
  return dayStrip({ slots: ledgers.get(pipeline.name)?.slots ?? [], outside, now, timezone: pipeline.schedule.timezone, days: LEDGER_DAYS });
}

function showPipelines(): void {
  const now = Date.now();
  renderPipelines(pipelines, selected, new Map(pipelines.map((pipeline) => [pipeline.name, stripOf(pipeline, now)])), (name) => go(name));
  renderGraph(pipelines, selected, (name) => go(name));
  const health = deploymentHealth(pipelines, new Map([...ledgers].map(([name, ledger]) => [name, ledger.slots])));
  $("health").textContent = healthText(health);
  $("health").className = `badge ${health.level}`;
}

/** The pipeline's slots of the last 30 of its days (fewer when its schedule has more than 1,000 slots in them). */
async function ledgerOf(pipeline: PipelineSummary, version: string | null): Promise<SlotEntry[]> {
  const cached = ledgers.get(pipeline.name);
  if (cached && Date.now() - cached.at < LEDGER_MAX_AGE_MS && (version === null || cached.version === version)) return cached.slots;
  const zone = pipeline.schedule.timezone;
  const today = localDate(Date.now(), zone);
  const path = `/api/pipelines/${encodeURIComponent(pipeline.name)}/slots`;
  let page: Slots | null = null;
  for (const from of [addDays(today, -(LEDGER_DAYS - 1)), addDays(today, -1), String(Date.now() - 3_600_000)]) {
    page = await api<Slots>(`${path}?from=${from}`).catch((error: unknown) => (error instanceof ApiError && error.code === "too_many_slots" ? null : Promise.reject(error)));
    if (page) break;
  }
  const slots = page?.slots ?? [];
  ledgers.set(pipeline.name, { at: Date.now(), slots, version });
  return slots;
}

function showInvalid(pipeline: PipelineSummary): void {
  // A misconfigured pipeline's error is on its schedule card; a definition set aside has only this card.
  const card = $("problem-card");
  card.hidden = pipeline.state !== "invalid";
  if (pipeline.state !== "invalid") return;
  $("problem-list").replaceChildren(...pipeline.problems.map((problem) => Object.assign(document.createElement("li"), { textContent: problem })));
  const { schedule } = pipeline;
  $("problem-hint").textContent = `The deployment set this definition aside when it loaded; the other pipelines run. It declares ${cadence(schedule)} in ${schedule.timezone}. Fix the file (npm run check shows the same errors) and the server reloads it.`;
}

/** Everything about the selected pipeline; each card says so when its part of the API did not answer. */
async function refreshSelected(pipeline: PipelineSummary): Promise<void> {
  const [schedule, history, last, stats, backfills] = await Promise.allSettled([
    api<Schedules>(`${base()}/schedule`),
    api<History>(`${base()}/history?limit=20`),
    api<Run | null>(`${base()}/last`),
    api<Stats>(`${base()}/stats?window=30d`),
    api<Backfills>(`${base()}/backfills?limit=10`),
  ]);
  if (pipeline.name !== selected) return;
  const failure = (result: PromiseSettledResult<unknown>) => (result.status === "rejected" ? String((result.reason as Error).message) : null);
  const problems = [schedule, history, last, stats, backfills].map(failure).filter((message): message is string => message !== null);
  if (problems.length > 0) say(problems[0]!, true);
  if (schedule.status === "fulfilled" && schedule.value[0]) renderSchedule(schedule.value[0], pipeline);
  if (history.status === "fulfilled") activeRunId = renderHistory(history.value, pipeline.schedule.timezone, (runId) => go(pipeline.name, runId));
  if (last.status === "fulfilled") renderLast(last.value, pipeline.schedule.timezone);
  if (stats.status === "fulfilled") {
    outsideRuns = stats.value.series;
    charts.draw(stats.value, pipeline.schedule.timezone, Date.now());
    $("stats-line").textContent = `last 30 days · p50 ${duration(stats.value.durationMs.p50)} · p95 ${duration(stats.value.durationMs.p95)}`;
  }
  if (backfills.status === "fulfilled") renderBackfills(backfills.value, (statusUrl, backfillId, button) => act(button, async () => (await api(`${statusUrl}/cancel`, { method: "POST" }), `Backfill ${backfillId} stops after its current run.`)));
  // The selected pipeline's ledger follows its runs and its waiting slots; the others' refresh once a minute.
  const busy = history.status === "fulfilled" && history.value.runs.some((run) => run.status === "running");
  const runs = history.status === "fulfilled" && !busy ? history.value.summary.totalRuns : -Date.now();
  try {
    const slots = await ledgerOf(pipeline, `${runs}:${pipeline.waiting.length}`);
    const zone = pipeline.schedule.timezone;
    renderLedger(pipeline.name, zone, slots, stripOf(pipeline, Date.now()));
  } catch (error) {
    ledgerUnavailable(`The slot ledger is not available: ${(error as Error).message}`);
  }
  $("backfill-zone").textContent = `Dates are days on the pipeline's calendar (${pipeline.schedule.timezone}).`;
  if (openRun !== runCard.shown || (openRun !== null && openRun === activeRunId)) await showRun(openRun, pipeline.schedule.timezone);
}

async function showRun(runId: string | null, timezone: string): Promise<void> {
  if (!runId) {
    runCard.hide();
    return;
  }
  try {
    await runCard.show(await api<Run>(`${base()}/runs/${encodeURIComponent(runId)}`), timezone);
  } catch (error) {
    say((error as Error).message, true);
    runCard.hide();
  }
}

async function refresh(): Promise<void> {
  clearTimeout(refreshTimer);
  try {
    pipelines = (await api<Pipelines>("/api/pipelines")).pipelines;
    const pipeline = current();
    if (!pipeline) {
      if (pipelines.length > 0) return follow();
    } else {
      $("pipeline-name").textContent = pipeline.name;
      $("pipeline-description").textContent = pipeline.description;
      showParams(pipeline);
      showInvalid(pipeline);
      for (const id of DETAIL_CARDS) $(id).hidden = pipeline.state === "invalid";
      if (pipeline.state === "invalid") {
        runCard.hide();
        $("active-card").hidden = true;
      } else await refreshSelected(pipeline);
    }
    await Promise.all(pipelines.filter((other) => other.name !== selected && other.state !== "invalid").map((other) => ledgerOf(other, null).catch(() => [])));
    showPipelines();
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    say((error as Error).message, true);
  }
  refreshTimer = setTimeout(refresh, activeRunId ? 1_000 : 5_000);
}

function showParams(pipeline: PipelineSummary): void {
  const properties = (pipeline.params?.properties ?? null) as Record<string, { default?: unknown; enum?: unknown[] }> | null;
  $("params-row").hidden = !properties;
  $("params-hint").textContent = properties ? `JSON, e.g. ${JSON.stringify(Object.fromEntries(Object.entries(properties).map(([name, schema]) => [name, schema.default ?? schema.enum?.[0] ?? ""])))}` : "";
}

async function act(button: HTMLButtonElement, work: () => Promise<string>): Promise<void> {
  button.disabled = true;
  try {
    say(await work());
  } catch (error) {
    say((error as Error).message, true);
  } finally {
    button.disabled = false;
    await refresh();
  }
}

function button(id: string): HTMLButtonElement {
  return $<HTMLButtonElement>(id);
}

button("pause").onclick = () => act(button("pause"), async () => (await api(`${base()}/schedule/pause`, { method: "POST" }), "Schedule paused."));
button("resume").onclick = () => act(button("resume"), async () => (await api(`${base()}/schedule/resume`, { method: "POST" }), "Schedule resumed."));
button("trigger").onclick = () =>
  act(button("trigger"), async () => {
    const body: { note: string; params?: unknown } = { note: "from the dashboard" };
    const typed = $("params-row").hidden ? "" : $<HTMLInputElement>("params-input").value.trim();
    if (typed) {
      try {
        body.params = JSON.parse(typed);
      } catch {
        throw new Error(`params must be JSON, e.g. ${($("params-hint").textContent ?? "").replace(/^JSON, e.g. /, "")}`);
      }
    }
    const started = await api<TriggerStart>(`${base()}/trigger`, { method: "POST", body });
    return `Started ${started.pipelineId}.`;
  });
button("run-retry").onclick = () =>
  act(button("run-retry"), async () => {
    const fromStage = button("run-retry").dataset.fromStage;
    const started = await api<RetryStart>(`${base()}/runs/${encodeURIComponent(openRun ?? "")}/retry`, { method: "POST", ...(fromStage ? { body: { fromStage } } : {}) });
    go(selected!, started.pipelineId);
    return `Started ${started.pipelineId}: retry of ${started.retry.of} from ${started.retry.fromStage}.`;
  });
// A run its checks blocked: load the very batch that was checked, accepting the failures (recorded on the retry).
button("run-accept").onclick = () =>
  act(button("run-accept"), async () => {
    const acceptChecks = JSON.parse(button("run-accept").dataset.checks ?? "[]") as string[];
    const started = await api<RetryStart>(`${base()}/runs/${encodeURIComponent(openRun ?? "")}/retry`, { method: "POST", body: { acceptChecks } });
    go(selected!, started.pipelineId);
    return `Started ${started.pipelineId}: loading the batch of ${started.retry.of}, accepting ${acceptChecks.join(", ")}.`;
  });
$<HTMLFormElement>("backfill-form").onsubmit = (event) => {
  event.preventDefault();
  void act(button("backfill-start"), async () => {
    const body = { from: $<HTMLInputElement>("backfill-from").value, to: $<HTMLInputElement>("backfill-to").value, reprocess: $<HTMLSelectElement>("backfill-reprocess").value };
    const started = await api<BackfillStart>(`${base()}/backfill`, { method: "POST", body });
    return `Backfill ${started.backfillId}: ${started.slots.length} slots, ${started.toRun} to run, ${started.skipped} skipped.`;
  });
};
button("cancel").onclick = () =>
  act(button("cancel"), async () => {
    if (!activeRunId) return "Nothing is running.";
    await api(`${base()}/runs/${encodeURIComponent(activeRunId)}/cancel`, { method: "POST", body: { reason: "cancelled from the dashboard" } });
    return `Cancelled ${activeRunId}.`;
  });
button("run-close").onclick = () => go(selected!);
button("run-rejected-more").onclick = () => act(button("run-rejected-more"), async () => (await runCard.moreRejected(), ""));

window.addEventListener("hashchange", follow);
setInterval(tick, 1_000);
void refresh();
