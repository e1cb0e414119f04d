// The dashboard: reads the same JSON API as curl does, every few seconds (every second while a run is active).
// If the API answers 401, it asks for the token and keeps it in sessionStorage: this browser tab only.

const TOKEN_KEY = "scheduled-pipeline-token";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(TOKEN_KEY);
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

function text(tag, content, className) {
  const element = document.createElement(tag);
  element.textContent = content ?? "";
  if (className) element.className = className;
  return element;
}

const when = (ms) => (ms === null || ms === undefined ? "—" : new Date(ms).toLocaleString());
const duration = (ms) => (ms === null || ms === undefined ? "—" : ms < 10_000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const count = (n) => (n === null || n === undefined ? "—" : n.toLocaleString());

function say(message, isError = false) {
  $("message").textContent = message;
  $("message").classList.toggle("error", isError);
}

function renderSchedule(view) {
  schedule = view;
  const what = view.cron ? `cron ${view.cron}` : `every ${view.every}`;
  $("schedule-line").textContent = `${view.enabled ? "" : "Paused — "}${what} (${view.timezone})`;
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
      box.append(text("span", `${duration(stage.durationMs)}${stage.attempts > 1 ? ` · ${stage.attempts} attempts` : ""}`, "muted"));
      if (stage.error) box.append(text("span", stage.error, "error"));
      return box;
    }),
  );
}

async function renderLast(run) {
  if (!run) return;
  const line = $("last-run");
  line.className = `run-line ${run.status}`;
  line.replaceChildren(
    text("strong", run.pipelineId),
    text("span", ` ${run.status} · ${run.trigger} · ${when(run.startTime)} · ${duration(run.totalDuration)} · loaded ${count(run.finalResult?.recordCount)} · rejected ${count(run.rejectedCount)}`),
  );
  if (run.error) line.append(text("div", run.error, "error"));
  renderStages($("last-stages"), run);
  const page = await api(`/api/pipeline/runs/${encodeURIComponent(run.pipelineId)}/rejected?limit=20`);
  $("rejected").tBodies[0].replaceChildren(
    ...page.rejected.map((rejection) => {
      const row = document.createElement("tr");
      row.append(text("td", rejection.position), text("td", rejection.id ?? "—"), text("td", rejection.stage), text("td", rejection.reason));
      return row;
    }),
  );
  if (page.rejected.length === 0) {
    const row = document.createElement("tr");
    const cell = text("td", "None.", "muted");
    cell.colSpan = 4;
    row.append(cell);
    $("rejected").tBodies[0].replaceChildren(row);
  }
}

function renderHistory(page) {
  const summary = page.summary;
  $("summary-line").textContent =
    `${summary.totalRuns} runs · ${summary.succeeded} succeeded · ${summary.failed} failed · ` +
    `success rate ${summary.successRate === null ? "—" : `${Math.round(summary.successRate * 100)}%`} · average ${duration(summary.averageDurationMs)}`;
  $("history").tBodies[0].replaceChildren(
    ...page.runs.map((run) => {
      const row = document.createElement("tr");
      row.dataset.runId = run.pipelineId;
      row.className = run.status;
      row.append(
        text("td", run.pipelineId),
        text("td", run.trigger),
        text("td", run.status, "status"),
        text("td", when(run.startTime)),
        text("td", duration(run.totalDuration)),
        text("td", count(run.finalResult?.recordCount)),
        text("td", count(run.rejectedCount)),
        text("td", run.stages.map((stage) => `${stage.name}: ${stage.status}`).join(", ")),
      );
      return row;
    }),
  );
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
    const [scheduleViews, history, last, stats] = await Promise.all([
      api("/api/pipeline/schedule"),
      api("/api/pipeline/history?limit=20"),
      api("/api/pipeline/last"),
      api("/api/pipeline/stats?window=30d"),
    ]);
    renderSchedule(scheduleViews[0]);
    renderHistory(history);
    await renderLast(last);
    renderStats(stats);
    $("health").textContent = history.summary.failed > 0 && history.runs[0]?.status === "failed" ? "last run failed" : "ok";
    $("health").className = `badge ${history.runs[0]?.status ?? "ok"}`;
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

$("pause").onclick = () => act($("pause"), async () => (await api("/api/pipeline/schedule/pause", { method: "POST" }), "Schedule paused."));
$("resume").onclick = () => act($("resume"), async () => (await api("/api/pipeline/schedule/resume", { method: "POST" }), "Schedule resumed."));
$("trigger").onclick = () =>
  act($("trigger"), async () => {
    const started = await api("/api/pipeline/trigger", { method: "POST", body: JSON.stringify({ note: "from the dashboard" }) });
    return `Started ${started.pipelineId}.`;
  });
$("cancel").onclick = () =>
  act($("cancel"), async () => {
    if (!activeRunId) return "Nothing is running.";
    await api(`/api/pipeline/runs/${encodeURIComponent(activeRunId)}/cancel`, { method: "POST", body: JSON.stringify({ reason: "cancelled from the dashboard" }) });
    return `Cancelled ${activeRunId}.`;
  });

setInterval(tick, 1_000);
refresh();
