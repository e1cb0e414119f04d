/**
 * The dashboard in headless Chromium (Debian's chromium, driven by playwright-core) against a real
 * `wrangler dev` whose API needs a token:
 * the page asks for the token and keeps it for the tab only; it lists the pipelines; "Run now" starts a run
 * that appears with its stages; the charts draw; a run opens from the history with its stages, source
 * report and rejected records; switching to the orders pipeline shows its own schedule and history; Pause
 * and Resume change the selected pipeline's schedule only (checked through the API); the slot ledger shows
 * as a strip of 30 days, a backfill started from the form fills its days; an orders run that failed (its
 * source answered 503) is retried with the Retry button, the header's badge naming the failure until then.
 * The graph of which pipeline feeds which draws orders → orders-daily (day) and store-drops started by
 * objects; a failed orders slot of yesterday (a backfill of one hour while the source is down) keeps
 * orders-daily's slots (every minute, for the test) waiting: selected from the graph, its strip shows the
 * day as waiting, saying for what, its slot table links the failed run, the graph marks the edge; retried,
 * the slot runs, and its run card links the orders run it consumed. An orders export in a currency no store
 * sells in is blocked by its checks: its run card says so and lists each check; "Load anyway" loads it.
 * At 1,360 px and at 390 px (a phone) the page never scrolls sideways, tables reflow inside their cards
 * and buttons are big enough to touch. Then the server restarts on the same data with the default pipeline
 * misconfigured (a 4-field cron, in New York): its row and schedule card are red with the error and the
 * configured zone, Pause, Resume and Run now are disabled, the badge says so, its times read on New York's
 * clock, and the orders pipeline still runs. Screenshots: docs/dashboard.png (1,360 px),
 * docs/dashboard-phone.png (390 px), docs/dashboard-misconfigured.png.
 *
 *   npm run test:browser
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ORDERS_SAMPLE_CSV } from "../src/pipelines/orders/sample.ts";
import { startSourceServer } from "./lib/source-server.ts";
import { migrateLocal, startDev, stopDev, type DevServer } from "./lib/wrangler-dev.ts";
import { clusterQuery, planCluster, startCluster } from "./lib/postgres-cluster.ts";

const ROOT = resolve(import.meta.dirname, "..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TOKEN = "browser-test-token";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

function check(condition: unknown, message: string): void {
  if (!condition) throw new Error(`browser test: ${message}`);
  console.log(`  ok  ${message}`);
}

async function apiAs(server: DevServer, path: string, method = "GET", body?: unknown): Promise<any> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${server.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

/** True when a chart's canvas has something drawn on it (not all pixels transparent). */
async function chartDrew(page: Page, id: string): Promise<boolean> {
  return page.evaluate((chartId) => {
    // Runs in the page; this project's types are the Workers', not the DOM's.
    const canvas = (globalThis as any).document.querySelector(`#${chartId} canvas`);
    if (!canvas || canvas.width === 0 || canvas.height === 0) return false;
    const pixels: Uint8ClampedArray = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let index = 3; index < pixels.length; index += 4) if (pixels[index]! > 0) painted += 1;
    return painted > 50;
  }, id);
}

/** The page is no wider than the viewport: nothing makes the whole page scroll sideways. */
async function fitsWidth(page: Page, width: number): Promise<void> {
  const found = await page.evaluate(() => {
    // Runs in the page. Names the element that sticks out furthest, for when the check fails.
    const { document } = globalThis as any;
    let widest = { right: 0, what: "" };
    for (const element of document.querySelectorAll("body *")) {
      const right = element.getBoundingClientRect().right;
      if (right > widest.right && element.closest(".table-scroll") === null) widest = { right, what: `${element.tagName.toLowerCase()}#${element.id}.${element.className}` };
    }
    return { documentWidth: document.documentElement.scrollWidth as number, widest };
  });
  check(found.documentWidth <= width, `at ${width} px the document is ${found.documentWidth} px wide, no wider than the viewport (furthest out: ${found.widest.what} at ${Math.round(found.widest.right)} px)`);
}

/** Polls until `condition` holds (true) or `timeoutMs` passes (false). */
async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

async function main(): Promise<void> {
  const persistTo = mkdtempSync(join(tmpdir(), "pipeline-browser-"));
  migrateLocal(persistTo);
  // The PostgreSQL pipelines on a throwaway cluster with their tables, so every pipeline is ready (and a
  // slot of theirs that comes round while the test runs succeeds) and the screenshots show them so.
  const postgres = await startCluster(await planCluster({ password: "browser-password" }));
  for (const file of ["migrations/postgres/public.orders.sql", "docs/examples/postgres/customers.sql"]) await clusterQuery(postgres, readFileSync(join(ROOT, file), "utf8"));
  const env = { CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: postgres.url };
  // The orders pipeline reads its CSV from a local source that can be made to fail.
  const source = await startSourceServer();
  let ordersStatus = 200;
  let ordersCsv = ORDERS_SAMPLE_CSV;
  source.route("/orders.csv", async (response) => {
    if (ordersStatus !== 200) {
      response.writeHead(ordersStatus).end("unavailable");
      return;
    }
    response.writeHead(200, { "content-type": "text/csv" }).end(ordersCsv);
  });
  const ordersUrl = source.url.replace(/\/records$/, "/orders.csv");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const server = await startDev({
      persistTo,
      vars: { ALLOW_UNAUTHENTICATED: "false", API_TOKEN: TOKEN, ORDERS_SOURCE_URL: ordersUrl, ORDERS_CONFIG: JSON.stringify({ retries: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } }) },
      env,
    });
    try {
      await dashboard(server, browser, (status) => (ordersStatus = status), (csv) => (ordersCsv = csv ?? ORDERS_SAMPLE_CSV));
    } finally {
      await stopDev(server);
    }
    // The same data, with the default pipeline misconfigured: a 4-field cron, its configured zone New York.
    const restarted = await startDev({
      persistTo,
      vars: { ALLOW_UNAUTHENTICATED: "true", PIPELINE_CRON: "0 3 * *", PIPELINE_CONFIG: JSON.stringify({ schedule: { timezone: "America/New_York" } }), ORDERS_SOURCE_URL: ordersUrl },
      env,
    });
    try {
      await misconfigured(restarted, browser);
    } finally {
      await stopDev(restarted);
    }
    console.log("browser test passed; screenshots in docs/dashboard.png, docs/dashboard-phone.png and docs/dashboard-misconfigured.png");
  } finally {
    await browser.close();
    await source.close();
    await postgres.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

/** Everything a person does on the dashboard, at 1,360 px and then at 390 px. */
async function dashboard(server: DevServer, browser: Browser, setOrdersStatus: (status: number) => void, setOrdersCsv: (csv: string | null) => void): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 1100 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  // A Content-Security-Policy violation is reported on the console, not thrown.
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });

  for (const path of ["/", "/dashboard.js", "/vendor/uPlot.min.css", "/favicon.ico", "/favicon.svg"]) {
    const response = await fetch(`${server.url}${path}`);
    const csp = response.headers.get("content-security-policy") ?? "";
    const safe = response.ok && csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'") && response.headers.get("x-frame-options") === "DENY" &&
      response.headers.get("x-content-type-options") === "nosniff" && response.headers.get("referrer-policy") === "no-referrer";
    check(safe, `${path} is served with CSP (no inline script), frame-ancestors 'none', X-Frame-Options DENY, nosniff, Referrer-Policy`);
  }
  const icon = await fetch(`${server.url}/favicon.ico`);
  check(icon.ok && /icon/.test(icon.headers.get("content-type") ?? ""), `/favicon.ico is an icon (${icon.headers.get("content-type")})`);

  await page.goto(server.url);
  await page.locator("#token-dialog").waitFor({ state: "visible" });
  check(true, "asks for the API token when the API answers 401");
  await page.fill("#token-input", TOKEN);
  await page.click("#token-form button[type=submit]");
  await page.locator("#schedule-line", { hasText: "cron 0 3 * * * (UTC)" }).waitFor();
  check(await page.evaluate(() => sessionStorage.getItem("scheduled-pipeline-token")) === TOKEN, "keeps the token in sessionStorage");
  // The list asks every pipeline's agents: it may come after the selected pipeline's schedule.
  await page.locator("#pipelines tbody tr[data-pipeline]").nth(6).waitFor({ timeout: 15_000 }).catch(() => undefined);
  const listed = await page.locator("#pipelines tbody tr").evaluateAll((rows) => rows.map((row) => (row as any).dataset.pipeline));
  if (listed.length === 0) console.log(`  page problems so far: ${problems.join(" | ") || "none"}`);
  check(listed.join(",") === "default,orders,orders-daily,store-drops,orders-lake,orders-to-postgres,customers", `lists the pipelines (${listed.join(", ")})`);
  // Which pipeline feeds which: an arrow from orders to orders-daily, labelled with the slots it consumes.
  const edge = page.locator('#graph [data-edge="orders->orders-daily"]');
  await edge.waitFor();
  check((await edge.locator("text").textContent()) === "day", "the graph draws orders → orders-daily, labelled with the slots it consumes (day)");
  const [ordersBox, dailyBox] = await Promise.all(['[data-pipeline="orders"]', '[data-pipeline="orders-daily"]'].map((node) => page.locator(`#graph ${node} rect`).boundingBox()));
  check(ordersBox && dailyBox && ordersBox.x + ordersBox.width < dailyBox.x && Math.abs(ordersBox.y - dailyBox.y) < 1, "orders-daily stands right of orders, level with it");
  check(((await page.textContent('#graph [data-node="objects:store-drops"]')) ?? "").includes("drops/*.csv") && (await page.locator('#graph [data-edge="objects->store-drops"]').count()) === 1, "store-drops is drawn started by objects landing under drops/");
  check((await page.locator('#graph [data-pipeline="default"].selected').count()) === 1, "the selected pipeline is marked in the graph");
  check((await page.textContent("#pipeline-name")) === "default", "shows the default pipeline first");
  const countdown = (await page.textContent("#countdown")) ?? "";
  check(/\d+h \d+m \d+s|\d+m \d+s/.test(countdown), `counts down to the next run (${countdown})`);

  await page.click("#trigger");
  const row = page.locator("#history tbody tr", { hasText: "succeeded" }).first();
  await row.waitFor({ timeout: 20_000 });
  const stages = await row.locator("td").nth(7).textContent();
  check(stages === "extract: succeeded, transform: succeeded, load: succeeded", `a triggered run appears with its stages (${stages})`);
  await page.locator("#last-stages .stage.succeeded").nth(2).waitFor();
  check(true, "the last run shows its stages");

  // A second run, so the charts have a line to draw.
  await page.click("#trigger");
  await page.locator("#history tbody tr.succeeded").nth(1).waitFor({ timeout: 20_000 });
  for (const id of ["chart-duration", "chart-loaded", "chart-success"]) check(await until(() => chartDrew(page, id)), `chart ${id} drew`);

  // Open a run from the history: its stages, source report, accounting and rejected records.
  const runId = await page.locator("#history tbody tr.succeeded").first().getAttribute("data-run-id");
  await page.locator("#history tbody tr.succeeded").first().click();
  await page.locator(`#run-card[data-run-id="${runId}"]`).waitFor();
  await page.locator("#run-rejected tbody tr", { hasText: "rec-2" }).waitFor();
  check(page.url().endsWith(`#pipeline=default&run=${runId}`), "opening a run puts it in the address");
  check((await page.locator("#run-stages .stage").count()) === 3, "the run shows its three stages");
  check(((await page.textContent("#run-source")) ?? "").includes("primary (sample)"), "the run shows its source report");
  check(((await page.textContent("#run-rejected tbody")) ?? "").includes('value "invalid" is not a number'), "the run lists its rejected record rec-2 with the reason");

  // The slot ledger: a strip of 30 days; a backfill from the form fills the days it ran.
  check((await page.locator("#ledger-strip .cell").count()) === 30, "the slot ledger shows the last 30 days");
  const day = (offset: number) => new Date(Date.now() - offset * 86_400_000).toISOString().slice(0, 10);
  await page.fill("#backfill-from", day(6));
  await page.fill("#backfill-to", day(2));
  await page.click("#backfill-start");
  await page.locator("#backfills tbody tr.succeeded").first().waitFor({ timeout: 30_000 });
  check(((await page.textContent("#backfills tbody tr")) ?? "").includes("4 succeeded"), "a backfill started from the form ran its four daily slots");
  check(await until(async () => (await page.locator("#ledger-strip .cell.backfilled").count()) === 4), "the ledger strip shows the four backfilled days as filled in by the backfill");
  check(await until(async () => (await page.locator('#pipelines tbody tr[data-pipeline="default"] .cell.backfilled').count()) === 4), "and so does the pipelines list");
  check(await until(async () => (await page.locator("#ledger-strip .outside.ok").count()) === 1), "today carries the mark of the manual runs outside the schedule");
  check(((await page.getAttribute("#ledger-strip .day:last-child", "title")) ?? "").includes("2 runs outside the schedule"), "and its title counts them");
  await page.locator("#ledger tbody tr", { hasText: "backfill-" }).first().waitFor();
  check(true, "the ledger table lists the slots with their backfill runs");

  // Another pipeline: the orders example, whose source fails the first time.
  setOrdersStatus(503);
  await page.click('#pipelines tbody tr[data-pipeline="orders"]');
  await page.locator("#pipeline-name", { hasText: "orders" }).waitFor();
  await page.locator("#schedule-line", { hasText: "cron 15 * * * * (Europe/Berlin)" }).waitFor();
  check(page.url().endsWith("#pipeline=orders"), "switching pipelines puts the pipeline in the address");
  check((await page.locator("#run-card").isHidden()) && (await page.locator("#history tbody tr.succeeded").count()) === 0, "the orders pipeline has its own (empty) history");
  await page.click("#trigger");
  const failedRow = page.locator("#history tbody tr.failed").first();
  await failedRow.waitFor({ timeout: 20_000 });
  const failedId = await failedRow.getAttribute("data-run-id");
  // While the source is down, a backfill of one orders hour of yesterday (on Berlin's calendar; 10:00 to
  // 11:00 UTC holds a slot) fails: orders-daily's slots, every minute from now, wait for it.
  const berlinToday = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin" }).format(new Date());
  const yesterday = new Date(Date.parse(berlinToday) - 86_400_000).toISOString().slice(0, 10);
  const upstreamBackfill = await apiAs(server, "/api/pipelines/orders/backfill", "POST", { from: `${yesterday}T10:00:00Z`, to: `${yesterday}T11:00:00Z` });
  check(await until(async () => (await apiAs(server, upstreamBackfill.statusUrl)).status === "failed", 20_000), "a backfill of one orders hour of yesterday fails while the source is down");
  const failedSlotRun: string = (await apiAs(server, upstreamBackfill.statusUrl)).slots[0].runId;
  await apiAs(server, "/api/pipelines/orders-daily/schedule", "PUT", { cron: "* * * * *", timezone: "Europe/Berlin" });
  await page.locator("#health.bad", { hasText: "orders: last run failed" }).waitFor();
  check(true, "the header's badge names the pipeline whose last run failed");
  // By its id: the failed backfill run is newer, above it.
  await page.click(`#history tbody tr[data-run-id="${failedId}"]`);
  await page.locator(`#run-card[data-run-id="${failedId}"]`).waitFor();
  check((await page.textContent("#run-retry")) === "Retry from extract", "a failed run offers a retry from the stage that failed");
  setOrdersStatus(200);
  await page.click("#run-retry");
  await page.locator("#run-links", { hasText: `retry of ${failedId} from extract` }).waitFor({ timeout: 20_000 });
  check(/run=retry-\d+$/.test(page.url()), "Retry opens the new run");
  await page.locator("#run-card.succeeded").waitFor({ timeout: 20_000 });
  check(true, "the retry succeeds once the source answers again");
  await page.locator("#run-rejected tbody tr", { hasText: "refund 1002 names no original order" }).waitFor();
  check(((await page.textContent("#run-accounting")) ?? "").replace(/\s+/g, " ").includes("skipped1"), "the orders run shows a skipped record in its accounting");
  check((await page.locator("#run-rejected tbody tr").count()) === 3, "the orders run lists its three rejected records");

  // orders-daily, selected from the graph: a slot waiting for the failed orders slot.
  await page.click('#graph [data-pipeline="orders-daily"]');
  await page.locator("#pipeline-name", { hasText: "orders-daily" }).waitFor();
  check(page.url().endsWith("#pipeline=orders-daily"), "a click on a pipeline in the graph selects it");
  await page.locator('#graph [data-pipeline="orders-daily"].selected').waitFor();
  await page.locator("#ledger-strip .cell.waiting").first().waitFor({ timeout: 100_000 });
  check(true, "orders-daily's strip shows a day with a slot waiting for its upstream, in the waiting colour");
  const waitingDay = (await page.locator("#ledger-strip .day", { has: page.locator(".cell.waiting") }).last().getAttribute("title")) ?? "";
  check(/\d+ waiting for upstream.*; waiting for orders \(1 slot not succeeded\)$/.test(waitingDay), `its title says what it waits for (${waitingDay})`);
  const waitingRow = page.locator("#ledger tbody tr.waiting").first();
  await waitingRow.waitFor();
  check(((await waitingRow.textContent()) ?? "").includes("waiting for orders: 1 slot not succeeded"), "the slot table names what the waiting slot waits for");
  check((await waitingRow.locator(`a[href="#pipeline=orders&run=${failedSlotRun}"]`).count()) === 1, "and links the failed orders run");
  await page.locator('#pipelines tbody tr[data-pipeline="orders-daily"] .cell.waiting').first().waitFor();
  check(true, "the pipelines list's strip shows it waiting too");
  await page.locator('#graph [data-pipeline="orders-daily"].waiting').waitFor();
  check((await page.locator('#graph [data-edge="orders->orders-daily"].waiting').count()) === 1, "the graph marks orders-daily waiting, and the edge of orders it waits for");
  check(((await page.textContent("#graph-line")) ?? "").includes("1 waiting for its upstream"), "and says so above it");

  // Retried, the orders slot succeeds; the waiting slot runs and its run card links the orders run it consumed.
  const upstreamRetry = await apiAs(server, `/api/pipelines/orders/runs/${encodeURIComponent(failedSlotRun)}/retry`, "POST");
  const fedRow = page.locator("#history tbody tr.succeeded", { has: page.locator("td:nth-child(2)", { hasText: /^upstream$/ }) }).first();
  await fedRow.waitFor({ timeout: 60_000 });
  await fedRow.click();
  const lineage = page.locator("#run-lineage");
  await lineage.locator(`a[href="#pipeline=orders&run=${upstreamRetry.pipelineId}"]`).waitFor({ timeout: 20_000 });
  check(((await lineage.textContent()) ?? "").startsWith("Started once its upstream was in (the slot had waited for it). Consumed orders: 1 run for its slot "), "the run card says the run started once its upstream was in, and links the orders run it consumed");
  check(((await page.textContent("#run-line")) ?? "").includes("succeeded · upstream for "), "its line shows the trigger, upstream");
  await lineage.locator(`a[href="#pipeline=orders&run=${upstreamRetry.pipelineId}"]`).click();
  await page.locator(`#run-card[data-run-id="${upstreamRetry.pipelineId}"]`).waitFor();
  check((await page.textContent("#pipeline-name")) === "orders", "the link opens the orders run it consumed");
  // orders-daily back on its own schedule once nothing of it waits.
  check(await until(async () => (await apiAs(server, "/api/pipelines/orders-daily")).waiting.length === 0, 60_000), "no orders-daily slot waits any more");
  await apiAs(server, "/api/pipelines/orders-daily/schedule", "DELETE");
  await page.locator("#health.ok", { hasText: /^ok$/ }).waitFor();
  check(true, "the badge is ok again once the retry succeeded");
  check(/\+01:00$/.test(((await page.locator("#history tbody tr").first().locator("td").nth(3).textContent()) ?? "").trim()), "the orders pipeline's times read on Berlin's clock, with the offset");

  await page.click("#pause");
  await page.locator("#schedule-line", { hasText: "Paused" }).waitFor();
  check((await apiAs(server, "/api/pipelines/orders/schedule"))[0].enabled === false, "Pause pauses the selected pipeline's schedule");
  check((await apiAs(server, "/api/pipeline/schedule"))[0].enabled === true, "and leaves the other pipelines' alone");
  await page.click("#resume");
  await page.locator("#schedule-line", { hasText: /^cron/ }).waitFor();
  check((await apiAs(server, "/api/pipelines/orders/schedule"))[0].enabled === true, "Resume resumes it");

  // Dataset checks: an export in a currency no store sells in is blocked before load; the run card says so
  // above its stages and lists each check; "Load anyway" loads the very batch, accepting the check.
  const today = new Date().toISOString().slice(0, 10);
  // Eight lines: row_count (warn) wants at least 20 % of the usual, and the run of the sample above staged 39 rows.
  setOrdersCsv(
    `store_id,order_id,kind,amount,currency,original_order_id,ordered_at\nberlin,5001,sale,10.00,EUR,,${today}T09:00:00Z\nberlin,5002,sale,11.00,XYZ,,${today}T09:05:00Z\nberlin,5003,sale,12.00,EUR,,${today}T09:10:00Z\n` +
      `berlin,5004,sale,4.50,EUR,,${today}T09:20:00Z\nberlin,5005,sale,8.00,EUR,,${today}T09:30:00Z\nberlin,5006,sale,2.20,EUR,,${today}T09:40:00Z\nberlin,5007,sale,15.00,EUR,,${today}T09:50:00Z\nberlin,5008,sale,6.60,EUR,,${today}T10:00:00Z\n`,
  );
  await page.click("#trigger");
  let blockedId = "";
  check(
    await until(async () => {
      const last = await apiAs(server, "/api/pipelines/orders/last");
      blockedId = last?.errorCode === "checks_failed" ? last.pipelineId : "";
      return blockedId !== "";
    }, 20_000),
    "an orders export in a currency no store sells in is blocked by its checks",
  );
  setOrdersCsv(null);
  await page.locator(`#history tbody tr[data-run-id="${blockedId}"]`).click();
  await page.locator(`#run-card[data-run-id="${blockedId}"]`).waitFor();
  check((await page.textContent("#run-blocked")) === "Blocked by checks: accepted_values(currency) failed, so nothing was written.", "the run card says prominently that its checks blocked it");
  check((await page.locator("#run-checks-table tbody tr.check").count()) === 4 && (await page.locator("#run-checks-table tbody tr.check.failed").count()) === 1, "and lists its four checks, one failed");
  check(((await page.textContent("#run-checks-table tbody tr.check.failed")) ?? "").includes('1 · berlin/5002 · currency="XYZ"'), "the failed check shows its offending record, position and value");
  check((await page.textContent("#run-retry")) === "Retry from transform (after a fix)", "a blocked run is retried from transform, after a fix");
  await page.click("#run-accept");
  await page.waitForURL(/run=retry-\d+$/);
  const acceptedId = new URL(page.url()).hash.replace(/^.*run=/, "");
  await page.locator(`#run-card.succeeded[data-run-id="${acceptedId}"]`).waitFor({ timeout: 20_000 });
  check(((await page.textContent("#run-checks-table tbody tr.check.failed.accepted")) ?? "").includes(`accepted by an unlabelled token at`), "Load anyway loads the batch; the check shows as accepted, by whom and when");
  check(await page.locator("#run-blocked").isHidden(), "and the loaded run is not marked blocked");

  const other = await browser.newContext();
  const fresh = await other.newPage();
  await fresh.goto(server.url);
  await fresh.locator("#token-dialog").waitFor({ state: "visible" });
  check(true, "a new browser session asks for the token again");
  await other.close();

  // Both widths, with a run open: nothing scrolls the page sideways.
  mkdirSync(join(ROOT, "docs"), { recursive: true });
  await page.goto(`${server.url}/#pipeline=default&run=${runId}`);
  await page.locator(`#run-card[data-run-id="${runId}"]`).waitFor();
  await page.locator("#run-rejected tbody tr", { hasText: "rec-2" }).waitFor();
  await fitsWidth(page, 1360);
  await page.screenshot({ path: join(ROOT, "docs", "dashboard.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await fitsWidth(page, 390);
  const rights = await page.locator('#pipelines tbody tr[data-pipeline="default"] td').evaluateAll((cells) => cells.map((cell) => (cell as any).getBoundingClientRect().right as number));
  check(rights.length === 6 && rights.every((right) => right <= 390), "at 390 px every column of the pipelines table is on screen (its rows reflow)");
  const small = await page.locator("button:visible").evaluateAll((buttons) => buttons.map((button) => (button as any).getBoundingClientRect().height as number).filter((height) => height < 44));
  check(small.length === 0, `at 390 px every visible button is at least 44 px tall${small.length ? ` (${small.join(", ")})` : ""}`);
  check((await page.locator("#ledger-strip .cell").count()) === 30, "and the strip still shows 30 days");
  await page.screenshot({ path: join(ROOT, "docs", "dashboard-phone.png"), fullPage: true });
  check(problems.length === 0, `no script errors on the page${problems.length ? `: ${problems.join("; ")}` : ""}`);
  await context.close();
}

/** A misconfigured pipeline, on the data the first server left. */
async function misconfigured(server: DevServer, browser: Browser): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 1100 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(server.url);
  const row = page.locator('#pipelines tbody tr[data-pipeline="default"]');
  await row.locator(".error", { hasText: "PIPELINE_CRON" }).first().waitFor();
  check((await row.getAttribute("data-state")) === "misconfigured" && (await row.getAttribute("class"))!.includes("broken"), "a misconfigured pipeline's row is marked and red, with its error");
  await page.locator("#schedule-line", { hasText: "Misconfigured — cron 0 3 * * (America/New_York)" }).waitFor();
  check(true, "its schedule reads as misconfigured, with the cron and the zone it configures");
  check(((await page.textContent("#schedule-error")) ?? "").includes("PIPELINE_CRON"), "the schedule card shows the error naming the variable");
  check(await page.locator("#schedule-card.broken").isVisible(), "the schedule card is red");
  check((await page.isDisabled("#resume")) && (await page.isDisabled("#pause")) && (await page.isDisabled("#trigger")), "Pause, Resume and Run now are disabled");
  await page.locator("#health.bad", { hasText: "default: misconfigured" }).waitFor();
  check(true, "the header's badge names the misconfigured pipeline");
  await page.locator("#history tbody tr.succeeded").first().waitFor();
  check(/-05:00$/.test(((await page.locator("#history tbody tr").first().locator("td").nth(3).textContent()) ?? "").trim()), "its runs' times read on New York's clock, with the offset");
  await page.click('#pipelines tbody tr[data-pipeline="orders"]');
  await page.locator("#schedule-line", { hasText: "cron 15 * * * * (Europe/Berlin)" }).waitFor();
  check(!(await page.isDisabled("#trigger")), "the other pipeline is still ready to run");
  await page.click('#pipelines tbody tr[data-pipeline="default"]');
  await page.locator("#schedule-line", { hasText: "Misconfigured" }).waitFor();
  await fitsWidth(page, 1360);
  await page.screenshot({ path: join(ROOT, "docs", "dashboard-misconfigured.png") });
  check(problems.length === 0, `no script errors on the page${problems.length ? `: ${problems.join("; ")}` : ""}`);
  await context.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
