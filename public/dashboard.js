// The dashboard: reads the same JSON API as curl does, every few seconds (every second while a run is active).
// Every pipeline is listed; one is shown in detail, and a run of it can be opened. Where you are is in the
// address (#pipeline=orders&run=manual-1), so a view can be shared and the back button works.
// If the API answers 401, it asks for the token and keeps it in sessionStorage: this browser tab only.

const TOKEN_KEY = "scheduled-pipeline-token";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(TOKEN_KEY);
let pipelines = [];
let selected = null;
let openRun = null;
let nextRejected = null;
let schedule = null;
let activeRunId = null;
let refreshTimer = null;
const charts = {};

class ApiError extends Error {
  constructor(status, body) {
    super(body?.errors?.[0]?.message ?? `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, init = {}) {
  for (;;) {
    const headers = new Headers(init.headers ?? {});
    if (token) headers.set("authorization", `Bearer ${token}`);
    if (init.body) headers.set("content-type", "application/json");
    const response = await fetch(path, { ...init, headers });
    const body = await response.json().catch(() => null);
    if (response.status === 401) {
      token = await askForToken(body?.errors?.[0]?.message ?? "");
      continue;
    }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }
}

let pendingToken = null;
function askForToken(reason) {
  pendingToken ??= new Promise((resolve) => {
    const dialog = $("token-dialog");
    $("token-error").textContent = token ? `That token was refused: ${reason}` : "";
    $("token-input").value = "";
    $("token-form").onsubmit = () => {
      const value = $("token-input").value.trim();
      sessionStorage.setItem(TOKEN_KEY, value);
      pendingToken = null;
      resolve(value);
    };
    if (!dialog.open) dialog.showModal();
  });
  return pendingToken;
}

/** The selected pipeline's API. */
const base = () => `/api/pipelines/${encodeURIComponent(selected)}`;

function text(tag, content, className) {
  const element = document.createElement(tag);
  element.textContent = content ?? "";
  if (className) element.className = className;
  return element;
}

function row(cells, className) {
  const tr = document.createElement("tr");
  if (className) tr.className = className;
  tr.append(...cells.map((cell) => (cell instanceof Node ? cell : text("td", cell))));
  return tr;
}

function emptyRow(columns, message) {
  const cell = text("td", message, "muted");
  cell.colSpan = columns;
  return row([cell]);
}

const when = (ms) => (ms === null || ms === undefined ? "—" : new Date(ms).toLocaleString());
const duration = (ms) => (ms === null || ms === undefined ? "—" : ms < 10_000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const count = (n) => (n === null || n === undefined ? "—" : n.toLocaleString());
const cadence = (view) => (view.cron ? `cron ${view.cron}` : `every ${view.every}`);

function say(message, isError = false) {
  $("message").textContent = message;
  $("message").classList.toggle("error", isError);
}

// Where we are lives in the address: #pipeline=<name>&run=<id>.
function readLocation() {
  const params = new URLSearchParams(location.hash.slice(1));
  return { pipeline: params.get("pipeline"), run: params.get("run") };
}

function go(pipeline, run = null) {
  const params = new URLSearchParams({ pipeline });
  if (run) params.set("run", run);
  const hash = `#${params}`;
  if (location.hash !== hash) location.hash = hash;
  else follow();
}

function follow() {
  const where = readLocation();
  const pipeline = pipelines.some((candidate) => candidate.name === where.pipeline) ? where.pipeline : (pipelines[0]?.name ?? null);
  const changed = pipeline !== selected;
  selected = pipeline;
  openRun = where.run;
  if (changed) {
    activeRunId = null;
    say("");
  }
  renderPipelines();
  refresh();
}

function renderPipelines() {
  $("pipelines").tBodies[0].replaceChildren(
    ...pipelines.map((pipeline) => {
      const last = pipeline.lastRun;
      const name = text("td", "");
      name.append(text("strong", pipeline.name), text("div", pipeline.description, "muted"));
      const tr = row(
        [
          name,
          `${pipeline.schedule.enabled ? "" : "paused · "}${cadence(pipeline.schedule)} (${pipeline.schedule.timezone})`,
          when(pipeline.schedule.nextExecuteAt),
          last ? `${last.status} · ${when(last.endTime)}` : "never",
          pipeline.destination,
        ],
        pipeline.name === selected ? "selected" : "",
      );
      tr.dataset.pipeline = pipeline.name;
      tr.onclick = () => go(pipeline.name);
      return tr;
    }),
  );
  const current = pipelines.find((pipeline) => pipeline.name === selected);
  $("pipeline-name").textContent = selected ?? "";
  $("pipeline-description").textContent = current?.description ?? "";
}

function renderSchedule(view) {
  schedule = view;
  $("schedule-line").textContent = `${view.enabled ? "" : "Paused — "}${cadence(view)} (${view.timezone})`;
  $("schedule-card").classList.toggle("paused", !view.enabled);
  $("schedule-details").textContent =
    `Missed runs: ${view.missedRuns}. Last scheduled run: ${when(view.lastExecutedAt)}. ${view.executionCount} scheduled runs so far.` +
    (view.backlog.length ? ` ${view.backlog.length} missed slots waiting.` : "") +
    (view.source === "api" ? " Set through the API." : "") +
    (view.error ? ` Error: ${view.error}` : "");
  $("pause").disabled = !view.enabled;
  $("resume").disabled = view.enabled;
  $("next-at").textContent = view.nextExecuteAt ? `(${when(view.nextExecuteAt)})` : "";
  tick();
}

function tick() {
  if (!schedule?.nextExecuteAt || !schedule.enabled) {
    $("countdown").textContent = schedule?.enabled === false ? "— (paused)" : "—";
    return;
  }
  let left = Math.max(0, Math.round((schedule.nextExecuteAt - Date.now()) / 1000));
  const parts = [];
  for (const [size, unit] of [[86_400, "d"], [3_600, "h"], [60, "m"]]) {
    if (left >= size) {
      parts.push(`${Math.floor(left / size)}${unit}`);
      left %= size;
    }
  }
  parts.push(`${left}s`);
  $("countdown").textContent = parts.join(" ");
}

function renderStages(container, run) {
  container.replaceChildren(
    ...run.stages.map((stage) => {
      const box = text("div", "", `stage ${stage.status}`);
      box.dataset.stage = stage.name;
      box.append(text("strong", stage.name), text("span", stage.status, "status"));
      box.append(text("span", `in ${count(stage.inputCount)} · out ${count(stage.outputCount)} · rejected ${count(stage.rejectedCount)}`));
      box.append(text("span", `${duration(stage.durationMs)} · ${stage.attempts} attempt${stage.attempts === 1 ? "" : "s"}`, "muted"));
      const failures = stage.attemptErrors.filter((error) => error !== stage.error);
      if (failures.length > 0) {
        const list = text("ul", "", "attempt-errors");
        list.append(...failures.map((error) => text("li", error)));
        box.append(list);
      }
      if (stage.error) box.append(text("span", stage.error, "error"));
      return box;
    }),
  );
}

function renderLast(run) {
  const line = $("last-run");
  if (!run) {
    line.className = "muted";
    line.textContent = "No run has finished yet.";
    $("last-stages").replaceChildren();
    return;
  }
  line.className = `run-line ${run.status}`;
  const link = text("a", run.pipelineId);
  link.href = `#${new URLSearchParams({ pipeline: selected, run: run.pipelineId })}`;
  line.replaceChildren(
    text("strong", ""),
    text("span", ` ${run.status} · ${run.trigger} · ${when(run.startTime)} · ${duration(run.totalDuration)} · loaded ${count(run.finalResult?.recordCount)} · rejected ${count(run.rejectedCount)}`),
  );
  line.firstChild.append(link);
  if (run.error) line.append(text("div", run.error, "error"));
  renderStages($("last-stages"), run);
}

function facts(container, entries) {
  container.replaceChildren(...entries.flatMap(([term, value]) => [text("dt", term), text("dd", value)]));
}

async function renderRun(runId) {
  const card = $("run-card");
  if (!runId) {
    card.hidden = true;
    return;
  }
  const run = await api(`${base()}/runs/${encodeURIComponent(runId)}`).catch((error) => {
    say(error.message, true);
    return null;
  });
  if (!run) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  card.dataset.runId = run.pipelineId;
  card.className = `card wide ${run.status}`;
  $("run-id").textContent = run.pipelineId;
  $("run-line").textContent =
    `${run.status} · ${run.trigger}${run.scheduledFor ? ` for ${when(run.scheduledFor)}` : ""} · started ${when(run.startTime)} · ${duration(run.totalDuration)}` +
    (run.resumes ? ` · resumed ${run.resumes}×` : "") +
    (run.note ? ` · note: ${run.note}` : "");
  $("run-error").textContent = run.error ?? "";
  renderStages($("run-stages"), run);
  const source = run.source;
  facts(
    $("run-source"),
    source
      ? [
          ["source", `${source.name} (${source.kind})${source.served ? "" : " — did not serve the records"}`],
          ["url", source.url ?? "—"],
          ["format", source.format ?? "—"],
          ["pages", `${source.pages}${source.truncated ? " (stopped at the page limit)" : ""}`],
          ["tries", `${source.attempts}${source.attemptErrors.length ? `: ${source.attemptErrors.join("; ")}` : ""}`],
          ["watermark", source.watermark ?? "—"],
          ...source.skipped.map((skipped) => [`skipped ${skipped.name}`, skipped.reason]),
        ]
      : [["source", "not read"]],
  );
  const books = run.accounting;
  facts($("run-accounting"), [
    ["extracted", count(books.extracted)],
    ["loaded", count(books.loaded)],
    ["rejected", count(books.rejected)],
    ["skipped", count(books.skipped)],
    ["balanced", books.balanced ? "yes" : "no"],
    ["destination", run.finalResult?.destination ?? "—"],
  ]);
  $("run-alerts").textContent = run.alerts.length ? run.alerts.map((alert) => `${alert.event}: ${alert.status}${alert.error ? ` (${alert.error})` : ""}`).join("; ") : "none";
  $("run-rejected-count").textContent = `(${count(run.rejectedCount)})`;
  $("run-rejected").tBodies[0].replaceChildren();
  nextRejected = null;
  await moreRejected(run.pipelineId);
}

async function moreRejected(runId) {
  const query = new URLSearchParams({ limit: "50", ...(nextRejected ? { cursor: nextRejected } : {}) });
  const page = await api(`${base()}/runs/${encodeURIComponent(runId)}/rejected?${query}`);
  const body = $("run-rejected").tBodies[0];
  body.append(...page.rejected.map((rejection) => row([String(rejection.position), rejection.id ?? "—", rejection.stage, rejection.reason, text("td", rejection.raw, "raw")])));
  if (body.rows.length === 0) body.append(emptyRow(5, "None."));
  nextRejected = page.nextCursor;
  $("run-rejected-more").hidden = !nextRejected;
}

function renderHistory(page) {
  const summary = page.summary;
  $("summary-line").textContent =
    `${summary.totalRuns} runs · ${summary.succeeded} succeeded · ${summary.failed} failed · ` +
    `success rate ${summary.successRate === null ? "—" : `${Math.round(summary.successRate * 100)}%`} · average ${duration(summary.averageDurationMs)}`;
  $("history").tBodies[0].replaceChildren(
    ...page.runs.map((run) => {
      const tr = row(
        [
          run.pipelineId,
          run.trigger,
          text("td", run.status, "status"),
          when(run.startTime),
          duration(run.totalDuration),
          count(run.finalResult?.recordCount),
          count(run.rejectedCount),
          run.stages.map((stage) => `${stage.name}: ${stage.status}`).join(", "),
        ],
        run.status,
      );
      tr.dataset.runId = run.pipelineId;
      tr.onclick = () => go(selected, run.pipelineId);
      return tr;
    }),
  );
  if (page.runs.length === 0) $("history").tBodies[0].append(emptyRow(8, "No runs yet."));
  const active = page.runs.find((run) => run.status === "running");
  activeRunId = active?.pipelineId ?? null;
  $("active-card").hidden = !active;
  if (active) {
    $("active-id").textContent = active.pipelineId;
    renderStages($("active-stages"), active);
  }
}

function chart(id, label, stroke, data) {
  const element = $(id);
  const options = {
    width: Math.max(240, element.clientWidth),
    height: 160,
    // One run would otherwise stretch the time axis over years.
    scales: { x: { time: true, range: (_u, min, max) => (min === max ? [min - 3_600, max + 3_600] : [min, max]) } },
    series: [{}, { label, stroke, width: 2, points: { show: true, size: 5 } }],
    axes: [{}, { size: 60 }],
    legend: { show: false },
  };
  if (!charts[id]) charts[id] = new uPlot(options, data, element);
  else charts[id].setData(data);
}

function renderStats(stats) {
  $("stats-line").textContent = `last 30 days · p50 ${duration(stats.durationMs.p50)} · p95 ${duration(stats.durationMs.p95)}`;
  const series = stats.series.filter((point) => point.status !== "skipped");
  const x = series.map((point) => point.startTime / 1000);
  chart("chart-duration", "duration", "#2563eb", [x, series.map((point) => point.durationMs)]);
  chart("chart-loaded", "loaded", "#059669", [x, series.map((point) => point.loaded)]);
  chart("chart-success", "success", "#7c3aed", [x, series.map((point) => (point.status === "succeeded" ? 1 : point.status === "failed" ? 0 : null))]);
}

async function refresh() {
  clearTimeout(refreshTimer);
  try {
    const list = await api("/api/pipelines");
    pipelines = list.pipelines;
    if (!selected || !pipelines.some((pipeline) => pipeline.name === selected)) {
      follow();
      return;
    }
    renderPipelines();
    const [scheduleViews, history, last, stats] = await Promise.all([api(`${base()}/schedule`), api(`${base()}/history?limit=20`), api(`${base()}/last`), api(`${base()}/stats?window=30d`)]);
    renderSchedule(scheduleViews[0]);
    renderHistory(history);
    renderLast(last);
    renderStats(stats);
    if (openRun !== ($("run-card").hidden ? null : $("run-card").dataset.runId) || (openRun && openRun === activeRunId)) await renderRun(openRun);
    const failing = pipelines.filter((pipeline) => pipeline.lastRun?.status === "failed").map((pipeline) => pipeline.name);
    $("health").textContent = failing.length ? `last run failed: ${failing.join(", ")}` : "ok";
    $("health").className = `badge ${failing.length ? "failed" : "ok"}`;
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    say(error.message, true);
  }
  refreshTimer = setTimeout(refresh, activeRunId ? 1_000 : 5_000);
}

async function act(button, work) {
  button.disabled = true;
  try {
    say(await work());
  } catch (error) {
    say(error.message, true);
  } finally {
    button.disabled = false;
    await refresh();
  }
}

$("pause").onclick = () => act($("pause"), async () => (await api(`${base()}/schedule/pause`, { method: "POST" }), "Schedule paused."));
$("resume").onclick = () => act($("resume"), async () => (await api(`${base()}/schedule/resume`, { method: "POST" }), "Schedule resumed."));
$("trigger").onclick = () =>
  act($("trigger"), async () => {
    const started = await api(`${base()}/trigger`, { method: "POST", body: JSON.stringify({ note: "from the dashboard" }) });
    return `Started ${started.pipelineId}.`;
  });
$("cancel").onclick = () =>
  act($("cancel"), async () => {
    if (!activeRunId) return "Nothing is running.";
    await api(`${base()}/runs/${encodeURIComponent(activeRunId)}/cancel`, { method: "POST", body: JSON.stringify({ reason: "cancelled from the dashboard" }) });
    return `Cancelled ${activeRunId}.`;
  });
$("run-close").onclick = () => go(selected);
$("run-rejected-more").onclick = () => act($("run-rejected-more"), async () => (await moreRejected(openRun), ""));

window.addEventListener("hashchange", follow);
setInterval(tick, 1_000);
refresh();
