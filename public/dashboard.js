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
/** Renders of the open run can overlap (a refresh, a click): only the newest one may fill in the rejected records. */
let runRender = 0;
let schedule = null;
let activeRunId = null;
let refreshTimer = null;
const charts = {};
/** The last 30 days of each pipeline's slot ledger, fetched at most once a minute: { at, slots }. */
const ledgers = {};
const DAY = 86_400_000;
const LEDGER_DAYS = 30;

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
    // Nothing of the previous pipeline stays on screen while the new one loads.
    $("run-card").hidden = true;
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
          strip(ledgers[pipeline.name]?.slots ?? [], false),
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
  const params = current?.params?.properties ?? null;
  $("params-row").hidden = !params;
  $("params-hint").textContent = params ? `JSON, e.g. ${JSON.stringify(Object.fromEntries(Object.entries(params).map(([name, schema]) => [name, schema.default ?? schema.enum?.[0] ?? ""])))}` : "";
}

// The slot ledger as a strip of days: each day takes the colour of its worst slot.
const WORST_FIRST = ["failed", "missed", "late", "running", "skipped", "ok", "pending"];

function slotClass(slot) {
  if (slot.state === "missed") return "missed";
  if (slot.state === "skipped") return "skipped";
  if (slot.state === "pending") return "pending";
  if (slot.status === "running") return "running";
  if (slot.status !== "succeeded") return "failed";
  return slot.deadlineMet === false ? "late" : "ok";
}

function dayStart(ms) {
  const date = new Date(ms);
  date.setHours(0, 0, 0, 0);
  return date.getTime();
}

function strip(slots, big) {
  const container = text(big ? "div" : "td", "", big ? "" : "strip-cell");
  const cells = text("div", "", `strip${big ? " big" : ""}`);
  const today = dayStart(Date.now());
  for (let day = LEDGER_DAYS - 1; day >= 0; day -= 1) {
    const from = today - day * DAY;
    const inDay = slots.filter((slot) => slot.scheduledFor >= from && slot.scheduledFor < from + DAY);
    const classes = inDay.map(slotClass);
    const worst = WORST_FIRST.find((name) => classes.includes(name)) ?? "none";
    const cell = text("span", "", `cell ${worst}`);
    cell.dataset.day = new Date(from).toISOString().slice(0, 10);
    cell.title = `${new Date(from).toLocaleDateString()}: ${inDay.length === 0 ? "no slot" : WORST_FIRST.filter((name) => classes.includes(name)).map((name) => `${classes.filter((entry) => entry === name).length} ${name}`).join(", ")}`;
    cells.append(cell);
  }
  container.append(cells);
  return big ? cells : container;
}

/** A pipeline's slots of the last 30 days (fewer days when its schedule has more than 1,000 slots in them). */
async function ledgerOf(name, force = false) {
  const cached = ledgers[name];
  if (cached && !force && Date.now() - cached.at < 60_000) return cached.slots;
  const path = `/api/pipelines/${encodeURIComponent(name)}/slots`;
  let page;
  // Up to just after the next slot (the API's default end), from as far back as 1,000 slots allow.
  for (const span of [LEDGER_DAYS * DAY, 2 * DAY, DAY / 24]) {
    page = await api(`${path}?from=${dayStart(Date.now()) - span + DAY}`).catch((error) => (error.status === 400 ? null : Promise.reject(error)));
    if (page) break;
  }
  ledgers[name] = { at: Date.now(), slots: page?.slots ?? [] };
  return ledgers[name].slots;
}

function renderLedger(slots) {
  $("ledger-strip").replaceWith(Object.assign(strip(slots, true), { id: "ledger-strip" }));
  const states = {};
  for (const slot of slots) states[slot.state] = (states[slot.state] ?? 0) + 1;
  $("ledger-line").textContent = `last ${LEDGER_DAYS} days · ${Object.entries(states).map(([state, n]) => `${n} ${state}`).join(" · ") || "no slots yet"}`;
  const recent = slots.slice(-15).reverse();
  $("ledger").tBodies[0].replaceChildren(
    ...recent.map((slot) => {
      const run = text("td", "");
      if (slot.runId && slot.state === "ran") {
        const link = text("a", slot.runId);
        link.href = `#${new URLSearchParams({ pipeline: selected, run: slot.runId })}`;
        run.append(link);
      } else run.textContent = slot.runId ?? "—";
      const deadline = slot.deadlineAt === null ? "—" : `${slot.deadlineMet === null ? "due" : slot.deadlineMet ? "met" : "missed"} ${when(slot.deadlineAt)}`;
      const alerts = slot.alerts.map((alert) => `${alert.event} ${alert.status}`).join(", ");
      return row([when(slot.scheduledFor), text("td", slot.state, "status"), run, slot.status ?? "—", duration(slot.startedLateByMs), deadline, [slot.reason, alerts].filter(Boolean).join(" · ") || "—"], slot.state === "ran" ? (slot.status ?? "") : slot.state);
    }),
  );
  if (recent.length === 0) $("ledger").tBodies[0].append(emptyRow(7, "No slots in the last 30 days."));
}

function renderBackfills(page) {
  $("backfills").tBodies[0].replaceChildren(
    ...page.backfills.map((backfill) => {
      const { counts } = backfill;
      const ran = counts.succeeded + counts.failed + counts.cancelled + counts.running;
      const cancel = text("td", "");
      if (backfill.status === "running") {
        const button = text("button", "Cancel", "link");
        button.type = "button";
        button.onclick = () => act(button, async () => (await api(`${backfill.statusUrl}/cancel`, { method: "POST" }), `Backfill ${backfill.backfillId} stops after its current run.`));
        cancel.append(button);
      }
      const tr = row(
        [
          backfill.backfillId,
          `${when(backfill.from)} – ${when(backfill.to)}`,
          backfill.reprocess,
          text("td", backfill.status, "status"),
          `${counts.succeeded} succeeded · ${counts.failed} failed · ${counts.pending + counts.running} to go · ${counts.skipped} skipped (${ran} run)`,
          cancel,
        ],
        backfill.status,
      );
      tr.dataset.backfillId = backfill.backfillId;
      return tr;
    }),
  );
  if (page.backfills.length === 0) $("backfills").tBodies[0].append(emptyRow(6, "No backfills yet."));
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
  // Once a unit shows, every smaller one does too: "22h 0m 15s", not "22h 15s".
  for (const [size, unit] of [[86_400, "d"], [3_600, "h"], [60, "m"]]) {
    if (left >= size || parts.length > 0) {
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
    (run.note ? ` · note: ${run.note}` : "") +
    (Object.keys(run.params).length ? ` · params ${JSON.stringify(run.params)}` : "");
  const links = [];
  const runLink = (id) => {
    const link = text("a", id);
    link.href = `#${new URLSearchParams({ pipeline: selected, run: id })}`;
    return link;
  };
  if (run.retry) links.push(text("span", "retry of "), runLink(run.retry.of), text("span", ` from ${run.retry.fromStage}${run.retry.reused.length ? `, reusing ${run.retry.reused.join(" and ")}` : ""}${run.retry.note ? ` (${run.retry.note})` : ""}. `));
  if (run.retriedBy.length) links.push(text("span", "retried by "), ...run.retriedBy.flatMap((id, index) => (index ? [text("span", ", "), runLink(id)] : [runLink(id)])), text("span", ". "));
  if (run.backfillId) links.push(text("span", `part of backfill ${run.backfillId}.`));
  $("run-links").replaceChildren(...links);
  const retryable = run.status === "failed" || run.status === "cancelled";
  const retryFrom = run.stages.find((stage) => stage.status !== "succeeded")?.name ?? "extract";
  $("run-retry").hidden = !retryable;
  $("run-retry").textContent = `Retry from ${retryFrom}`;
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
  const render = ++runRender;
  nextRejected = null;
  await moreRejected(run.pipelineId, render, true);
}

async function moreRejected(runId, render = runRender, first = false) {
  const query = new URLSearchParams({ limit: "50", ...(nextRejected && !first ? { cursor: nextRejected } : {}) });
  const page = await api(`${base()}/runs/${encodeURIComponent(runId)}/rejected?${query}`);
  if (render !== runRender) return;
  const body = $("run-rejected").tBodies[0];
  if (first) body.replaceChildren();
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
    const [scheduleViews, history, last, stats, backfills] = await Promise.all([
      api(`${base()}/schedule`),
      api(`${base()}/history?limit=20`),
      api(`${base()}/last`),
      api(`${base()}/stats?window=30d`),
      api(`${base()}/backfills?limit=10`),
    ]);
    renderSchedule(scheduleViews[0]);
    renderHistory(history);
    renderLast(last);
    renderStats(stats);
    renderBackfills(backfills);
    // The selected pipeline's ledger follows its runs; the others' strips refresh once a minute.
    const busy = history.runs.some((run) => run.status === "running") || backfills.backfills.some((backfill) => backfill.status === "running");
    renderLedger(await ledgerOf(selected, busy || ledgers[selected]?.history !== history.summary.totalRuns));
    ledgers[selected].history = history.summary.totalRuns;
    await Promise.all(pipelines.filter((pipeline) => pipeline.name !== selected).map((pipeline) => ledgerOf(pipeline.name)));
    renderPipelines();
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
    const body = { note: "from the dashboard" };
    const typed = $("params-row").hidden ? "" : $("params-input").value.trim();
    if (typed) {
      try {
        body.params = JSON.parse(typed);
      } catch {
        throw new Error(`params must be JSON, e.g. ${$("params-hint").textContent.replace(/^JSON, e.g. /, "")}`);
      }
    }
    const started = await api(`${base()}/trigger`, { method: "POST", body: JSON.stringify(body) });
    return `Started ${started.pipelineId}.`;
  });
$("run-retry").onclick = () =>
  act($("run-retry"), async () => {
    const started = await api(`${base()}/runs/${encodeURIComponent(openRun)}/retry`, { method: "POST" });
    go(selected, started.pipelineId);
    return `Started ${started.pipelineId}: retry of ${started.retry.of} from ${started.retry.fromStage}.`;
  });
$("backfill-form").onsubmit = (event) => {
  event.preventDefault();
  act($("backfill-start"), async () => {
    const started = await api(`${base()}/backfill`, {
      method: "POST",
      body: JSON.stringify({ from: $("backfill-from").value, to: $("backfill-to").value, reprocess: $("backfill-reprocess").value }),
    });
    return `Backfill ${started.backfillId}: ${started.slots.length} slots, ${started.toRun} to run, ${started.skipped} skipped.`;
  });
};
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
