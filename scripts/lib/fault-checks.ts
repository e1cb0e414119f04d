import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KNOWN_CURRENCIES } from "../../src/pipelines/orders/money.ts";
import { migrateLocal, queryLocalMany, sleep, stopDev, type DevServer } from "./wrangler-dev.ts";
import { startSourceServer } from "./source-server.ts";
import { api, apiResponse, API_TOKEN, attemptsOf, Checks, killServer, notableLog, restartServer, resumeAfterKill, seconds, serverOf, waitForRun, type FaultContext } from "./fault-kit.ts";

/**
 * Dataset checks under faults, on a server of its own: `orders` reads large CSV exports from a local
 * source (ORDERS_SOURCE_URL), and its checks (reject rate, known currencies, refunds that name an order of
 * their store, the usual row count) are judged between transform and load.
 *
 * - Killed in the check pass: an export of 300,000 lines that passes its checks, the server SIGKILLed once
 *   every record was transformed and the checks' partitioned pass is at work, its agent's SQLite taking
 *   in the check keys. The live counts cannot say when that is (a stage's last report is held back by
 *   the throttle, and the API waits while the pass runs), so the agents' storage on disk says it. After
 *   the restart the run must resume and succeed, every check passed (the warn row_count skipped: no
 *   successful run yet), the books balanced, D1 holding exactly the run's rows.
 * - Killed right after the verdict: a second passing export, half of its refunds naming orders the first
 *   run loaded (looked up in D1), the server SIGKILLed the moment the load's agent has stored its task.
 *   The coordinator saves the verdict and the load's start in one step, so there is no moment in between
 *   to kill at; read back from its storage, the kill must find them saved. The verdict must stand (not
 *   judged again), the load resume and the run succeed.
 * - Blocked, killed in the check pass: an export with a few hundred lines in currency XYZ (the record
 *   schema accepts them), its refunds as the second's, killed as the first but deeper into the pass.
 *   After the restart the run must fail `checks_failed`, the accepted_values result naming the offending
 *   rows exactly, the load skipped, nothing of it in D1; then a retry accepting that check must load
 *   exactly the batch's rows and keep the acceptance.
 *
 * The agents' storage is read as miniflare keeps it under the persist dir (`v3/do/<script>-<class>/*.sqlite`,
 * the object's name in `__miniflare_do_name`): sizes while the server runs, copies of the files after the
 * kill, and while it runs only the load agent's small file, copied. A change of that layout fails loudly.
 * Where each kill landed is reported (what the check pass had gathered, what load had written).
 */

const SCENARIO = "checks";
const PIPELINE = "orders";
/** Lines per export (about 16 MiB of CSV each). */
const LINES = Number(process.env.FAULT_CHECK_LINES ?? 300_000);
/** The check pass's agent is caught once its storage holds this much (it is gathering the keys). */
const PASS_BYTES = 2 * 1024 * 1024;
const HEADER = "store_id,order_id,kind,amount,currency,original_order_id,ordered_at";

/** One export the source serves, and what a run must make of it, exactly. */
export interface OrdersExport {
  tag: string;
  csv: string;
  lines: number;
  valid: number;
  rejected: number;
  refunds: number;
  /** Refunds naming an order of an earlier export (in D1, not in this batch). */
  refundsOfEarlier: number;
  /** Lines in a currency no store sells in, and the first ten as the check's sample must show them. */
  offCurrency: number;
  offCurrencySample: { position: number; id: string }[];
}

/**
 * A deterministic export: line i is order `<tag>-<i>` of store `ck-<i % 7>`. Every tenth line is a refund
 * of the same store's order seven lines before (a sale), or with `earlier`, every twentieth a refund of
 * that order in the earlier export (loaded before). Every thousandth line has an amount with three
 * decimals (rejected by the record schema: 0.1 %); with `offCurrency` another in every thousand is in XYZ.
 */
export function ordersExport(tag: string, lines: number, options: { earlier?: string; offCurrency?: boolean; day: string }): OrdersExport {
  const rows: string[] = [HEADER];
  const base = Date.parse(`${options.day}T00:00:00Z`);
  const out = { valid: 0, rejected: 0, refunds: 0, refundsOfEarlier: 0, offCurrency: 0 };
  const sample: { position: number; id: string }[] = [];
  for (let i = 0; i < lines; i += 1) {
    const store = `ck-${i % 7}`;
    const at = new Date(base + i * 250).toISOString();
    if (i % 1000 === 500) {
      rows.push(`${store},${tag}-${i},sale,1.234,EUR,,${at}`);
      out.rejected += 1;
      continue;
    }
    out.valid += 1;
    if (i % 10 === 9) {
      const ofEarlier = options.earlier !== undefined && i % 20 === 19;
      rows.push(`${store},${tag}-${i},refund,${(i % 40) + 1}.00,EUR,${ofEarlier ? options.earlier : tag}-${i - 7},${at}`);
      out.refunds += 1;
      if (ofEarlier) out.refundsOfEarlier += 1;
    } else if (options.offCurrency && i % 1000 === 250) {
      rows.push(`${store},${tag}-${i},sale,9.99,XYZ,,${at}`);
      out.offCurrency += 1;
      if (sample.length < 10) sample.push({ position: i, id: `${store}/${tag}-${i}` });
    } else {
      rows.push(`${store},${tag}-${i},sale,${(i % 500) + 1}.${String(i % 100).padStart(2, "0")},${KNOWN_CURRENCIES[i % 3]},,${at}`);
    }
  }
  return { tag, csv: `${rows.join("\n")}\n`, lines, ...out, offCurrencySample: sample };
}

/** A run of the scenario, for the reads of D1 once the server is stopped. */
interface Loaded {
  name: string;
  runId: string;
  data: OrdersExport;
  /** The rows D1 must hold of the run (0 for a blocked one). */
  rows: number;
}

export async function checksScenario(checks: Checks): Promise<void> {
  const persistTo = mkdtempSync(join(tmpdir(), "pipeline-faults-checks-"));
  const source = await startSourceServer();
  const feed: { data: OrdersExport | null } = { data: null };
  source.route("/orders.csv", async (response) => {
    if (!feed.data) response.writeHead(503).end("no export yet");
    else response.writeHead(200, { "content-type": "text/csv" }).end(feed.data.csv);
  });
  const vars = {
    ALLOW_UNAUTHENTICATED: "false",
    API_TOKEN,
    ORDERS_SOURCE_URL: source.url.replace(/\/records$/, "/orders.csv"),
    // A loaded machine may take a while over 16 MiB; the stage timeout stays the default's.
    ORDERS_CONFIG: JSON.stringify({ timeouts: { sourceMs: 60_000 } }),
  };
  const context: FaultContext = { persistTo, vars, server: undefined, checks, afterStop: [] };
  const loaded: Loaded[] = [];
  const begun = Date.now();
  try {
    const a = ordersExport("a", LINES, { day: "2026-11-02" });
    const c = ordersExport("c", LINES, { day: "2026-11-05", earlier: "a" });
    const b = ordersExport("b", LINES, { day: "2026-11-08", earlier: "a", offCurrency: true });
    console.log(`${SCENARIO}: three exports of ${LINES} lines (${(Buffer.byteLength(a.csv) / 1024 / 1024).toFixed(1)} MiB each) made in ${seconds(Date.now() - begun)}`);
    migrateLocal(persistTo);
    const server = await restartServer(context);
    const { pipelines } = await api(server, "/api/pipelines");
    const orders = pipelines.find((entry: any) => entry.name === PIPELINE);
    if (orders?.state !== "ready") throw new Error(`${PIPELINE} is not ready: ${JSON.stringify(orders)}`);
    // Only these runs: no schedule starts one of its own meanwhile (orders-lake reads the same source).
    // A misconfigured pipeline (PostgreSQL without a database) has no schedule to run, nor to pause.
    for (const entry of pipelines.filter((candidate: any) => candidate.state === "ready")) {
      const paused = await apiResponse(server, `/api/pipelines/${entry.name}/schedule/pause`, { method: "POST" });
      if (!paused.ok) throw new Error(`pausing ${entry.name} answered ${paused.status}: ${await paused.text()}`);
    }
    loaded.push(await killedInCheckPass(context, feed, a));
    loaded.push(await killedAfterVerdict(context, feed, c));
    loaded.push(...(await blockedKilledInCheckPass(context, feed, b)));
  } finally {
    if (context.server) await stopDev(context.server);
    context.server = undefined;
    await source.close();
  }
  try {
    checkOrdersInD1(checks, persistTo, loaded);
  } finally {
    rmSync(persistTo, { recursive: true, force: true });
  }
}

/** The first export: killed while the check pass gathers its keys; the run must resume and succeed. */
async function killedInCheckPass(context: FaultContext, feed: { data: OrdersExport | null }, data: OrdersExport): Promise<Loaded> {
  const name = "killed in the check pass";
  const check = (what: string, ok: boolean, detail = "") => context.checks.check(SCENARIO, `${name}: ${what}`, ok, detail);
  feed.data = data;
  const { runId, killed } = await triggerAndKillInPass(context, name, data, PASS_BYTES, check);
  const { run } = await resumeAfterKill(context, killed, { name: `${SCENARIO}: ${name}`, pipeline: PIPELINE, runId, timeoutMs: 300_000, check });
  const transform = run.stages?.find((stage: any) => stage.name === "transform");
  check("transform (with its check pass) was attempted again after the kill", (transform?.attempts ?? 0) >= 2, `attempts ${attemptsOf(run)}`);
  expectChecks(check, run, { row_count: "skipped" });
  expectBooks(check, run, data);
  return { name, runId, data, rows: data.valid };
}

/**
 * The second export: killed the moment the run's load agent has stored its task in the load's turn (read
 * from a copy of its file), which the coordinator's call reaches only once the verdict and the load's start
 * are stored. A load that followed transform stored its task earlier, marked ahead; the run's go clears it.
 */
async function killedAfterVerdict(context: FaultContext, feed: { data: OrdersExport | null }, data: OrdersExport): Promise<Loaded> {
  const name = "killed right after the verdict";
  const check = (what: string, ok: boolean, detail = "") => context.checks.check(SCENARIO, `${name}: ${what}`, ok, detail);
  feed.data = data;
  const server = serverOf(context);
  const before = new Set(stageObjects(context.persistTo, "LoadStage"));
  const runId = await trigger(server);
  const triggeredAt = Date.now();
  const { view, killed } = await killWhen(context, runId, () =>
    stageObjects(context.persistTo, "LoadStage").some((file) => {
      if (before.has(file)) return false;
      try {
        return readObject(context.persistTo, "LoadStage", file, (db) => objectName(db) === `${PIPELINE}/${runId}:load` && takenUpTasks(db) > 0);
      } catch {
        return false; // copied while it was being written: the next look
      }
    }),
  );
  const killedAt = Date.now();
  // With the server down: what the coordinator had stored, and what the load had written.
  const saved = savedRun(context.persistTo, runId);
  const [atKill] = queryLocalMany(context.persistTo, [`SELECT COUNT(*) AS total FROM orders WHERE run_id = '${runId}'`])[0] as { total: number }[];
  const savedLoad = saved?.stages?.find((stage: any) => stage.name === "load");
  console.log(
    `${SCENARIO}: ${name}: killed ${seconds(killedAt - triggeredAt)} after the trigger, as the load's agent stored its task (the API last showed ${view?.currentStage ?? "nothing"}); ` +
      `the coordinator had stored ${saved?.currentStage ?? "?"} (load ${savedLoad?.status} attempt ${savedLoad?.attempts}, checks ${saved?.checks ? `judged ${seconds(killedAt - saved.checks.evaluatedAt)} before the kill` : "not judged"}); ` +
      `${atKill?.total ?? "?"} of ${data.valid} rows of the run in D1; restarting`,
  );
  check(
    "at the kill, the verdict (not blocking) and the load's start were stored",
    saved?.checks?.blocked === false && saved.checks.results?.length === 4 && saved.currentStage === "load" && savedLoad?.status === "running" && savedLoad.attempts === 1,
    saved ? `stored: ${saved.currentStage}, load ${savedLoad?.status} attempt ${savedLoad?.attempts}; ${outcomes(saved)}` : "the run was not found in the coordinator's storage",
  );
  const { run } = await resumeAfterKill(context, killed, { name: `${SCENARIO}: ${name}`, pipeline: PIPELINE, runId, timeoutMs: 300_000, check });
  check(
    "the verdict stood: not judged again after the restart",
    run.checks?.evaluatedAt !== undefined && run.checks.evaluatedAt === saved?.checks?.evaluatedAt && JSON.stringify(run.checks.results) === JSON.stringify(saved.checks.results),
    `evaluatedAt ${saved?.checks?.evaluatedAt} stored at the kill, ${run.checks?.evaluatedAt} at the end`,
  );
  const stage = (which: string) => run.stages?.find((entry: any) => entry.name === which);
  check("the load resumed (attempted again), transform not", stage("load")?.attempts >= 2 && stage("transform")?.attempts === 1, `attempts ${attemptsOf(run)}`);
  // The first run succeeded with its rows: the usual row count is now there to compare with.
  expectChecks(check, run, { row_count: "passed" });
  const relationship = run.checks?.results?.find((result: any) => result.name === "refund_has_order");
  check("the refunds of the first export's orders were found (in D1, not in the batch)", relationship?.outcome === "passed" && relationship.offending === 0 && data.refundsOfEarlier > 0, `${data.refundsOfEarlier} such refunds; ${relationship?.found}`);
  expectBooks(check, run, data);
  return { name, runId, data, rows: data.valid };
}

/** The third export, in part in a currency no store sells in: blocked after a kill in its check pass, then accepted on a retry. */
async function blockedKilledInCheckPass(context: FaultContext, feed: { data: OrdersExport | null }, data: OrdersExport): Promise<Loaded[]> {
  const name = "blocked, killed in the check pass";
  const check = (what: string, ok: boolean, detail = "") => context.checks.check(SCENARIO, `${name}: ${what}`, ok, detail);
  feed.data = data;
  const { runId, killed } = await triggerAndKillInPass(context, name, data, 4 * PASS_BYTES, check);
  const restartedAt = Date.now();
  const server = await restartServer(context);
  const run = await waitForRun(server, PIPELINE, runId, 300_000);
  console.log(`${SCENARIO}: ${name}: ${runId} ended ${run.status} ${seconds(Date.now() - restartedAt)} after the restart (attempts ${attemptsOf(run)}): ${run.error}`);
  for (const line of notableLog([killed, server], runId)) console.log(`${SCENARIO}: ${name}: server log: ${line}`);
  const stage = (of: any, which: string) => of.stages?.find((entry: any) => entry.name === which);
  check(
    "the run resumed and failed checks_failed",
    run.status === "failed" && run.errorCode === "checks_failed" && run.resumes >= 1 && stage(run, "transform")?.attempts >= 2,
    `status ${run.status}, errorCode ${run.errorCode}, resumes ${run.resumes}, attempts ${attemptsOf(run)}`,
  );
  check("its load was skipped, never attempted", stage(run, "load")?.status === "skipped" && stage(run, "load")?.attempts === 0 && run.accounting?.loaded === 0, `load ${stage(run, "load")?.status}, ${stage(run, "load")?.attempts} attempts, loaded ${run.accounting?.loaded}`);
  const offCurrency = run.checks?.results?.find((result: any) => result.name === "accepted_values(currency)");
  check(
    "accepted_values(currency) failed, naming exactly the offending rows",
    run.checks?.blocked === true && offCurrency?.outcome === "failed" && offCurrency.offending === data.offCurrency && offCurrency.found === `${data.offCurrency} offending rows`,
    `${offCurrency?.outcome}: found "${offCurrency?.found}", offending ${offCurrency?.offending}, expected ${data.offCurrency}`,
  );
  const sample = (offCurrency?.sample ?? []).map((entry: any) => `${entry.position} ${entry.id} ${entry.values?.currency}`);
  const expectedSample = data.offCurrencySample.map((entry) => `${entry.position} ${entry.id} XYZ`);
  check("its sample is the first ten of them by position", sample.join() === expectedSample.join(), `${sample.slice(0, 3).join(", ")}, …`);
  check(
    "the other checks passed, and only that one is named in the error",
    ["reject_rate", "refund_has_order", "row_count"].every((check) => run.checks?.results?.find((result: any) => result.name === check)?.outcome === "passed") &&
      typeof run.error === "string" && run.error.includes("accepted_values(currency)") && !run.error.includes("refund_has_order"),
    `${outcomes(run)}; ${run.error}`,
  );

  // Accepted: the very batch that was checked is loaded by a retry.
  const response = await apiResponse(server, `/api/pipelines/${PIPELINE}/runs/${runId}/retry`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ acceptChecks: ["accepted_values(currency)"] }) });
  const body = (await response.json()) as { pipelineId?: string };
  check("the retry accepting accepted_values(currency) was admitted", (response.status === 202 || response.status === 200) && typeof body.pipelineId === "string", `${response.status} ${JSON.stringify(body).slice(0, 500)}`);
  if (!body.pipelineId) return [{ name, runId, data, rows: 0 }];
  const retryId = body.pipelineId;
  const retriedAt = Date.now();
  const retry = await waitForRun(server, PIPELINE, retryId, 240_000);
  console.log(`${SCENARIO}: ${name}: the retry ${retryId} ended ${retry.status} in ${seconds(Date.now() - retriedAt)} (attempts ${attemptsOf(retry)})${retry.error ? `: ${retry.error}` : ""}`);
  check("the retry succeeded", retry.status === "succeeded", `status ${retry.status}${retry.error ? `, error ${retry.error}` : ""}`);
  check(
    "it reused the checked batch (extract and transform not run again)",
    stage(retry, "extract")?.reusedFrom === runId && stage(retry, "transform")?.reusedFrom === runId && retry.retry?.of === runId,
    `extract reusedFrom ${stage(retry, "extract")?.reusedFrom}, transform reusedFrom ${stage(retry, "transform")?.reusedFrom}`,
  );
  check(
    "it records the acceptance",
    JSON.stringify(retry.acceptChecks?.names) === JSON.stringify(["accepted_values(currency)"]) && retry.acceptChecks?.retryOf === runId && typeof retry.acceptChecks?.at === "number",
    JSON.stringify(retry.acceptChecks),
  );
  const accepted = retry.checks?.results?.find((result: any) => result.name === "accepted_values(currency)");
  check(
    "its verdict: not blocked, accepted_values failed and accepted, on the same figures",
    retry.checks?.blocked === false && accepted?.outcome === "failed" && accepted.offending === data.offCurrency && accepted.accepted?.retryOf === runId,
    `blocked ${retry.checks?.blocked}; ${accepted?.outcome}, offending ${accepted?.offending}, accepted ${JSON.stringify(accepted?.accepted)}`,
  );
  expectBooks(check, retry, data);
  return [
    { name, runId, data, rows: 0 },
    { name: `${name}, its retry`, runId: retryId, data, rows: data.valid },
  ];
}

async function trigger(server: DevServer): Promise<string> {
  const started = await api(server, `/api/pipelines/${PIPELINE}/trigger`, { method: "POST" });
  if (!started.pipelineId || started.errors) throw new Error(`trigger failed: ${JSON.stringify(started)}`);
  return started.pipelineId;
}

/**
 * Triggers a run of the export and SIGKILLs the server while the checks' partitioned pass takes in its
 * keys. The run's transform shard creates one object when transform starts, the pass's agent a second
 * once every shard is done, and its storage grows as the keys go in: killed once that second one holds
 * `passBytes` (sizes only: nothing reads a file the server is writing) and the API shows transform as the
 * current stage. The transform follows extract (tuning `overlap`), so its pass may begin the moment
 * extract's last chunk lands, before the coordinator has recorded extract's end; a kill then would be a
 * kill in extract, which the default scenario covers. Then copies of the files, named, say what the pass
 * had gathered.
 */
async function triggerAndKillInPass(context: FaultContext, name: string, data: OrdersExport, passBytes: number, check: (what: string, ok: boolean, detail?: string) => void): Promise<{ runId: string; killed: DevServer | undefined }> {
  const server = serverOf(context);
  const before = new Set(stageObjects(context.persistTo, "TransformStage"));
  const runId = await trigger(server);
  const triggeredAt = Date.now();
  const created: string[] = [];
  const { view, killed } = await killWhen(context, runId, (latest) => {
    for (const file of stageObjects(context.persistTo, "TransformStage")) if (!before.has(file) && !created.includes(file)) created.push(file);
    if (created.length > 2) throw new Error(`more transform objects than a shard and a check partition: ${created.join(", ")}`);
    return latest?.currentStage === "transform" && created[1] !== undefined && objectBytes(context.persistTo, "TransformStage", created[1]) >= passBytes;
  });
  const killedAt = Date.now();
  const objects = created.map((file) =>
    readObject(context.persistTo, "TransformStage", file, (db) => {
      const keys = tableRows(db, "check_keys");
      const indexed = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'check_keys_value'").all().length > 0;
      return { name: objectName(db), keys, indexed };
    }),
  );
  const pass = objects.find((object) => object.name === `${PIPELINE}/${runId}:transform:checks-0`);
  const extract = view?.stages?.find((stage: any) => stage.name === "extract");
  const transform = view?.stages?.find((stage: any) => stage.name === "transform");
  // Each valid row provides its (store, order) to the relationship, each refund names one.
  const keys = data.valid + data.refunds;
  console.log(
    `${SCENARIO}: ${name}: killed ${seconds(killedAt - triggeredAt)} after the trigger; the API last showed ${view?.currentStage} (transform ${transform?.status}, ` +
      `${transform?.inputCount ?? 0} of ${extract?.inputCount ?? "?"} records as last reported); the check pass's SQLite held ${pass?.keys ?? "no"} of ${keys} check keys` +
      `${pass?.indexed ? ", indexed (judging)" : ""}; restarting`,
  );
  check(
    "the kill landed in the check pass: transform running, every record extracted, the pass's agent at work",
    view?.currentStage === "transform" && transform?.status === "running" && extract?.status === "succeeded" && extract.inputCount === data.lines && pass !== undefined,
    `API: ${view?.currentStage}, transform ${transform?.status}, extract ${extract?.status} ${extract?.inputCount}; objects ${objects.map((object) => `${object.name} (${object.keys} keys)`).join(", ")}`,
  );
  return { runId, killed };
}

/**
 * SIGKILLs the server the moment `ready` (polled every few milliseconds) holds, while the run is read
 * through the API beside it, as fast as it answers; answers the last view of the run before the kill.
 */
async function killWhen(context: FaultContext, runId: string, ready: (view: any) => boolean, timeoutMs = 240_000): Promise<{ view: any; killed: DevServer | undefined }> {
  const server = serverOf(context);
  let view: any = null;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        const latest = await api(server, `/api/pipelines/${PIPELINE}/runs/${runId}`);
        if (polling) view = latest;
      } catch {
        // the server was killed under the request
      }
      await sleep(20);
    }
  })();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (view && view.status !== "running") throw new Error(`run ${runId} ended (${view.status}) before the moment to kill at: ${JSON.stringify(view).slice(0, 1_500)}`);
      if (ready(view)) {
        polling = false;
        return { view, killed: await killServer(context) };
      }
      if (Date.now() > deadline) throw new Error(`the moment to kill ${runId} at never came`);
      await sleep(5);
    }
  } finally {
    polling = false;
    await poller;
  }
}

/** The run's checks: every one passed but those `otherwise` names, with the outcome it gives. */
function expectChecks(check: (what: string, ok: boolean, detail?: string) => void, run: any, otherwise: Record<string, string>): void {
  const results: any[] = run.checks?.results ?? [];
  const expected = ["reject_rate", "accepted_values(currency)", "refund_has_order", "row_count"];
  check(
    `its checks: all passed${Object.keys(otherwise).length ? ` (${Object.entries(otherwise).map(([check, outcome]) => `${check} ${outcome}`).join(", ")})` : ""}, none blocking`,
    run.checks?.blocked === false && results.map((result) => result.name).join() === expected.join() && results.every((result) => result.outcome === (otherwise[result.name] ?? "passed")) && run.errorCode === undefined,
    outcomes(run),
  );
}

/** The books of a run that loaded an export: every line extracted, the valid ones loaded, the bad ones rejected. */
function expectBooks(check: (what: string, ok: boolean, detail?: string) => void, run: any, data: OrdersExport): void {
  const { accounting } = run;
  check(
    "accounting balances: every line extracted, the valid ones loaded, the bad ones rejected",
    accounting?.balanced === true && accounting.extracted === data.lines && accounting.loaded === data.valid && accounting.rejected === data.rejected && accounting.skipped === 0,
    `${accounting?.extracted} = ${accounting?.loaded} + ${accounting?.rejected} + ${accounting?.skipped}, expected ${data.lines} = ${data.valid} + ${data.rejected}`,
  );
}

function outcomes(run: any): string {
  return (run.checks?.results ?? []).map((result: any) => `${result.name} ${result.outcome}${result.offending ? ` (${result.offending})` : ""}`).join(", ");
}

/** With the server stopped: each run's rows in `orders`, exactly, each order once; none of a blocked run. */
function checkOrdersInD1(checks: Checks, persistTo: string, loaded: readonly Loaded[]): void {
  if (loaded.length === 0) return;
  const results = queryLocalMany(persistTo, [
    "SELECT COUNT(*) AS total, COUNT(DISTINCT store_id || '/' || order_id) AS distinct_keys FROM orders",
    ...loaded.flatMap((entry) => [
      `SELECT COUNT(*) AS total, COUNT(DISTINCT store_id || '/' || order_id) AS distinct_keys, COALESCE(SUM(order_id NOT LIKE '${entry.data.tag}-%'), 0) AS foreign_rows FROM orders WHERE run_id = '${entry.runId}'`,
      `SELECT COUNT(*) AS total, COUNT(DISTINCT position) AS distinct_positions FROM rejected_records WHERE pipeline = '${PIPELINE}' AND run_id = '${entry.runId}'`,
    ]),
  ]);
  const all = results[0]?.[0] as { total: number; distinct_keys: number } | undefined;
  const expected = loaded.reduce((sum, entry) => sum + entry.rows, 0);
  checks.check(SCENARIO, "D1 orders holds exactly the loaded runs' rows, each order once", all?.total === expected && all.distinct_keys === expected, `${all?.total} rows, ${all?.distinct_keys} distinct keys, expected ${expected}`);
  for (const [index, entry] of loaded.entries()) {
    const rows = results[1 + index * 2]?.[0] as { total: number; distinct_keys: number; foreign_rows: number } | undefined;
    const rejected = results[2 + index * 2]?.[0] as { total: number; distinct_positions: number } | undefined;
    checks.check(
      SCENARIO,
      `${entry.name}: D1 orders holds exactly ${entry.rows} rows of ${entry.runId}, no duplicates`,
      rows?.total === entry.rows && rows.distinct_keys === entry.rows && rows.foreign_rows === 0,
      `SELECT COUNT(*) … WHERE run_id = '${entry.runId}': ${rows?.total}, ${rows?.distinct_keys} distinct keys, ${rows?.foreign_rows} of another export`,
    );
    // A blocked run writes its rejected records too (no row of it): the same lines, under its own id.
    const bad = entry.data.rejected;
    checks.check(SCENARIO, `${entry.name}: rejected_records holds its ${bad} rejected lines, each once`, rejected?.total === bad && rejected.distinct_positions === bad, `${rejected?.total} rows, ${rejected?.distinct_positions} positions`);
  }
}

/** The directory of a stage agent class's objects under the persist dir (miniflare's layout: `v3/do/<script>-<class>`). */
function objectFolder(persistTo: string, className: string): string | null {
  const folder = join(persistTo, "v3", "do");
  if (!existsSync(folder)) return null;
  const found = readdirSync(folder).find((name) => name.endsWith(`-${className}`));
  return found ? join(folder, found) : null;
}

/** The SQLite files of a class's objects (one per object that ever stored something). */
function stageObjects(persistTo: string, className: string): string[] {
  const folder = objectFolder(persistTo, className);
  if (!folder) return [];
  return readdirSync(folder).filter((file) => file.endsWith(".sqlite") && file !== "metadata.sqlite");
}

/** An object's storage on disk, its write-ahead log included. */
function objectBytes(persistTo: string, className: string, file: string): number {
  const path = join(objectFolder(persistTo, className)!, file);
  let bytes = 0;
  for (const part of [path, `${path}-wal`]) {
    try {
      bytes += statSync(part).size;
    } catch {
      // not there (yet)
    }
  }
  return bytes;
}

/**
 * Reads a copy of an object's SQLite file and its write-ahead log (SQLite replays what the log holds
 * committed), so that nothing opens the files the server writes. Throws when the copy is unreadable.
 */
function readObject<T>(persistTo: string, className: string, file: string, read: (db: InstanceType<typeof import("node:sqlite").DatabaseSync>) => T): T {
  // Loaded when first needed, as fault-kit does: node:sqlite warns that it is experimental.
  const { DatabaseSync } = process.getBuiltinModule("node:sqlite");
  const folder = objectFolder(persistTo, className);
  if (!folder) throw new Error(`no ${className} objects under ${join(persistTo, "v3", "do")} (has miniflare's layout changed?)`);
  const copy = mkdtempSync(join(tmpdir(), "pipeline-faults-checks-object-"));
  try {
    const path = join(folder, file);
    copyFileSync(path, join(copy, file));
    if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, join(copy, `${file}-wal`));
    const db = new DatabaseSync(join(copy, file));
    try {
      return read(db);
    } finally {
      db.close();
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** The object's name, as miniflare records it (null before it is recorded). */
function objectName(db: InstanceType<typeof import("node:sqlite").DatabaseSync>): string | null {
  if (tableRows(db, "__miniflare_do_name") === 0) return null;
  const [row] = db.prepare("SELECT name FROM __miniflare_do_name LIMIT 1").all() as { name: string }[];
  return row?.name ?? null;
}

/** Rows in a table, 0 when there is no such table. */
function tableRows(db: InstanceType<typeof import("node:sqlite").DatabaseSync>, table: string): number {
  if (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").all(table).length === 0) return 0;
  const [row] = db.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).all() as { n: number }[];
  return Number(row?.n ?? 0);
}

/** A stage agent's attempts in their turn: a load that follows transform (ahead = 1) counts once the run has taken it up. */
function takenUpTasks(db: InstanceType<typeof import("node:sqlite").DatabaseSync>): number {
  if (tableRows(db, "stage_task") === 0) return 0;
  const [row] = db.prepare("SELECT COUNT(*) AS n FROM stage_task WHERE ahead = 0").all() as { n: number }[];
  return Number(row?.n ?? 0);
}

/** The run as the pipeline's coordinator had stored it (the server stopped), or null. */
function savedRun(persistTo: string, runId: string): any {
  for (const file of stageObjects(persistTo, "PipelineCoordinator")) {
    const doc = readObject(persistTo, "PipelineCoordinator", file, (db) => {
      if (objectName(db) !== PIPELINE || tableRows(db, "runs") === 0) return null;
      const [row] = db.prepare("SELECT doc FROM runs WHERE run_id = ?").all(runId) as { doc: string }[];
      return row ? JSON.parse(row.doc) : null;
    });
    if (doc) return doc;
  }
  return null;
}
