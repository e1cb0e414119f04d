import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { migrateLocal, queryLocalMany, sleep, startDev, stopDev, type DevServer } from "./wrangler-dev.ts";
import { startSourceServer } from "./source-server.ts";
import { api, apiResponse, API_TOKEN, attemptsOf, Checks, killServer, notableLog, seconds, serverOf, waitForRun, type FaultContext } from "./fault-kit.ts";
import { clusterQuery, planCluster, startCluster, type Cluster } from "./postgres-cluster.ts";

/**
 * PostgreSQL under faults, on a server of its own and a throwaway cluster (scripts/lib/postgres-cluster.ts)
 * that its HYPERDRIVE binding reaches (CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE): the
 * table made from migrations/postgres/public.orders.sql, `orders-to-postgres` reading a large orders CSV
 * export from a local source (ORDERS_SOURCE_URL), each load chunk upserted in one transaction on a
 * connection of its own.
 *
 * - The database killed mid-load: once a quarter or more, not all, of the run's rows are committed and
 *   the load is inside the transaction of its next chunk, the postmaster is SIGKILLed (a crash), and
 *   started again two seconds later (recovering from its WAL). The load sees its connection go, and
 *   refused ones while the database is down, and retries: the run must succeed, its books balanced, the
 *   table holding exactly the export's valid orders, each once, all of this run. (Should the run give up
 *   while the database is down, that fails the scenario; its retry from the failed stage is then followed
 *   too, and must load every row exactly once.)
 * - The server killed mid-load: the table emptied, a second run, and `wrangler dev` SIGKILLed as a whole
 *   at the same point (the open transaction dies with its connection: its backend must go). After the
 *   restart the run must resume and succeed with the same figures.
 *
 * Where each kill landed is reported (rows of the run committed, the open transaction's age), and no
 * connection of the pipeline may stay open once a run is over. The rejected records are read from D1
 * once the server is stopped, each once. Everything started is stopped by its PID (the cluster's
 * directory deleted), also on failure.
 */

const SCENARIO = "postgres";
const PIPELINE = "orders-to-postgres";
const ROOT = resolve(import.meta.dirname, "../..");
const DDL = join(ROOT, "migrations/postgres/public.orders.sql");
/** Lines of the export (about 11 MiB of CSV for 200,000). */
const LINES = Number(process.env.FAULT_PG_ORDERS ?? 200_000);
/** How long the database stays down after its kill. */
const DOWN_MS = 2_000;
/** The load's connections, as it names them (application_name; `load <shard>` after it). */
const LOAD_APPLICATION = `pipeline ${PIPELINE} load%`;
const HEADER = "store_id,order_id,kind,amount,currency,original_order_id,ordered_at";

/** The export, and what a run must make of it, exactly. */
interface PgExport {
  csv: string;
  lines: number;
  valid: number;
  rejected: number;
  skipped: number;
  refunds: number;
  /** Sum of the valid rows' net_cents (refunds negative). */
  netCents: number;
}

/**
 * A deterministic export: line i is order `pg-<i>` of store `pg-<i % 7>`, every tenth a refund of the
 * order seven lines before. One line in every 500 has an amount with three decimals (the record schema
 * rejects it), another is a refund naming no order (the transform rejects it), and one in every 1000 is
 * of store `test` (skipped).
 */
function pgExport(lines: number): PgExport {
  const rows: string[] = [HEADER];
  const base = Date.parse("2026-12-01T00:00:00Z");
  const out = { valid: 0, rejected: 0, skipped: 0, refunds: 0, netCents: 0 };
  for (let i = 0; i < lines; i += 1) {
    const store = `pg-${i % 7}`;
    const at = new Date(base + i * 250).toISOString();
    if (i % 500 === 250) {
      rows.push(`${store},pg-${i},sale,1.234,EUR,,${at}`);
      out.rejected += 1;
    } else if (i % 500 === 100) {
      rows.push(`${store},pg-${i},refund,5.00,EUR,,${at}`);
      out.rejected += 1;
    } else if (i % 1000 === 700) {
      rows.push(`test,pg-${i},sale,5.00,EUR,,${at}`);
      out.skipped += 1;
    } else if (i % 10 === 9) {
      const cents = ((i % 40) + 1) * 100;
      rows.push(`${store},pg-${i},refund,${cents / 100}.00,EUR,pg-${i - 7},${at}`);
      out.valid += 1;
      out.refunds += 1;
      out.netCents -= cents;
    } else {
      const cents = ((i % 500) + 1) * 100 + (i % 100);
      rows.push(`${store},pg-${i},sale,${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")},${["EUR", "USD", "GBP"][i % 3]},,${at}`);
      out.valid += 1;
      out.netCents += cents;
    }
  }
  return { csv: `${rows.join("\n")}\n`, lines, ...out };
}

/** A run that loaded the export, for the reads of D1 once the server is stopped. */
interface Loaded {
  name: string;
  runId: string;
}

type Check = (what: string, ok: boolean, detail?: string) => void;

export async function postgresScenario(checks: Checks): Promise<void> {
  const begun = Date.now();
  const data = pgExport(LINES);
  console.log(
    `${SCENARIO}: an export of ${LINES} lines (${(Buffer.byteLength(data.csv) / 1024 / 1024).toFixed(1)} MiB; ${data.valid} valid, ${data.rejected} invalid, ` +
      `${data.skipped} of store test) made in ${seconds(Date.now() - begun)}`,
  );
  // No "/" in the password: wrangler's local Hyperdrive proxy cannot take one.
  const plan = await planCluster({ password: `fault-pg-${Math.random().toString(36).slice(2)}` });
  let cluster: Cluster | undefined;
  const persistTo = mkdtempSync(join(tmpdir(), "pipeline-faults-postgres-"));
  const source = await startSourceServer();
  source.route("/orders-pg.csv", async (response) => void response.writeHead(200, { "content-type": "text/csv" }).end(data.csv));
  const vars = { ALLOW_UNAUTHENTICATED: "false", API_TOKEN, ORDERS_SOURCE_URL: source.url.replace(/\/records$/, "/orders-pg.csv") };
  const context: FaultContext = { persistTo, vars, server: undefined, checks, afterStop: [] };
  const loaded: Loaded[] = [];
  try {
    cluster = await startCluster(plan);
    await clusterQuery(cluster, readFileSync(DDL, "utf8"));
    // fault-kit's restartServer passes no environment to wrangler; the binding's connection string is one.
    const env = { CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: cluster.url };
    const start = async () => (context.server = await startDev({ persistTo, vars, env }));
    migrateLocal(persistTo);
    const server = await start();
    const { pipelines } = await api(server, "/api/pipelines");
    const pipeline = pipelines.find((entry: any) => entry.name === PIPELINE);
    if (pipeline?.state !== "ready") throw new Error(`${PIPELINE} is not ready: ${JSON.stringify(pipeline)}`);
    // Only these runs: no schedule starts one of its own meanwhile (orders-to-postgres runs at minute 30).
    // A misconfigured pipeline (PostgreSQL without a database) has no schedule to run, nor to pause.
    for (const entry of pipelines.filter((candidate: any) => candidate.state === "ready")) {
      const paused = await apiResponse(server, `/api/pipelines/${entry.name}/schedule/pause`, { method: "POST" });
      if (!paused.ok) throw new Error(`pausing ${entry.name} answered ${paused.status}: ${await paused.text()}`);
    }
    loaded.push(await databaseKilled(context, cluster, data));
    loaded.push(await serverKilled(context, cluster, data, start));
  } finally {
    if (context.server) await stopDev(context.server);
    context.server = undefined;
    await source.close();
    if (cluster) await cluster.stop();
    else stopUnstartedCluster(plan.dir);
  }
  try {
    checkRejectedInD1(checks, persistTo, data, loaded);
  } finally {
    rmSync(persistTo, { recursive: true, force: true });
  }
}

/** A cluster whose start failed half way: its postmaster (if one is up) stopped by its PID, its directory deleted. */
function stopUnstartedCluster(dir: string): void {
  try {
    const pid = Number(readFileSync(join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, "SIGINT");
  } catch {
    // no postmaster
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Variant A: the postmaster SIGKILLed mid-load and started again; the load's retries must carry the run. */
async function databaseKilled(context: FaultContext, cluster: Cluster, data: PgExport): Promise<Loaded> {
  const name = "database killed mid-load";
  const check: Check = (what, ok, detail = "") => context.checks.check(SCENARIO, `${name}: ${what}`, ok, detail);
  const server = serverOf(context);
  const runId = await trigger(server);
  const triggeredAt = Date.now();
  const midway = await waitForLoadMidway(server, cluster, runId, data);
  await cluster.kill();
  const killedAt = Date.now();
  console.log(`${SCENARIO}: ${name}: postmaster SIGKILLed ${seconds(killedAt - triggeredAt)} after the trigger, ${landed(midway, data)}; down for ${seconds(DOWN_MS)}`);
  check("the kill landed mid-load: some but not all of the run's rows committed, a chunk's transaction open", landedMidway(midway, data), landed(midway, data));
  await sleep(DOWN_MS);
  cluster.start();
  const restartedAt = Date.now();
  const survived = await rowsOf(cluster, runId);
  console.log(`${SCENARIO}: ${name}: PostgreSQL started again ${seconds(restartedAt - killedAt)} after the kill (recovered from its WAL), ${survived} rows of the run in the table`);
  check("the rows committed before the kill survived the crash", survived >= midway.committed, `${midway.committed} committed before, ${survived} after the restart`);
  const run = await waitForRun(server, PIPELINE, runId, 180_000);
  const load = stageOf(run, "load");
  console.log(`${SCENARIO}: ${name}: ${runId} ended ${run.status} ${seconds(Date.now() - restartedAt)} after the database came back (attempts ${attemptsOf(run)})${run.error ? `: ${run.error}` : ""}`);
  for (const line of notableLog([server], runId)) console.log(`${SCENARIO}: ${name}: server log: ${line}`);
  check(
    "the run rode out the outage and succeeded, the load retrying the lost connections",
    run.status === "succeeded" && (load?.attempts ?? 0) >= 2,
    `status ${run.status}, attempts ${attemptsOf(run)}${run.error ? `, error ${run.error}` : ""}; the load's attempt errors: ${JSON.stringify(load?.attemptErrors ?? []).slice(0, 800)}`,
  );
  if (run.status === "succeeded") {
    expectBooks(check, run, data);
    await expectTable(check, cluster, runId, data);
    return { name, runId };
  }
  // It gave up (failing the scenario above): what it says it loaded must be what the table holds of it,
  // and a retry from the failed stage must still end with every row exactly once. A load that failed
  // never came to its rejected records: they go with the retry.
  const held = await rowsOf(cluster, runId);
  check("the failed run's loaded count is what the table holds of it", run.accounting?.loaded === held, `accounting loaded ${run.accounting?.loaded}, ${held} rows of ${runId} in the table`);
  const response = await apiResponse(server, `/api/pipelines/${PIPELINE}/runs/${runId}/retry`, { method: "POST" });
  const body = (await response.json()) as { pipelineId?: string };
  if (!body.pipelineId) throw new Error(`the retry of ${runId} was refused: ${response.status} ${JSON.stringify(body).slice(0, 500)}`);
  const retry = await waitForRun(server, PIPELINE, body.pipelineId, 180_000);
  console.log(`${SCENARIO}: ${name}: its retry ${body.pipelineId} ended ${retry.status} (attempts ${attemptsOf(retry)})${retry.error ? `: ${retry.error}` : ""}`);
  const retried: Check = (what, ok, detail = "") => check(`its retry: ${what}`, ok, detail);
  retried("succeeded from the load, the staged batch reused", retry.status === "succeeded" && stageOf(retry, "transform")?.reusedFrom === runId, `status ${retry.status}, transform reusedFrom ${stageOf(retry, "transform")?.reusedFrom}`);
  expectBooks(retried, retry, data);
  await expectTable(retried, cluster, body.pipelineId, data);
  return { name: `${name}, its retry`, runId: body.pipelineId };
}

/** Variant B: the table emptied, a second run, `wrangler dev` SIGKILLed mid-load; the run must resume. */
async function serverKilled(context: FaultContext, cluster: Cluster, data: PgExport, start: () => Promise<DevServer>): Promise<Loaded> {
  const name = "server killed mid-load";
  const check: Check = (what, ok, detail = "") => context.checks.check(SCENARIO, `${name}: ${what}`, ok, detail);
  await clusterQuery(cluster, "TRUNCATE public.orders");
  const server = serverOf(context);
  const runId = await trigger(server);
  const triggeredAt = Date.now();
  const midway = await waitForLoadMidway(server, cluster, runId, data);
  const killed = await killServer(context);
  const killedAt = Date.now();
  // With the server gone, what was committed stays, and the open transaction dies with its connection.
  const committed = await rowsOf(cluster, runId);
  let backends = await loadBackends(cluster);
  while (backends > 0 && Date.now() - killedAt < 15_000) {
    await sleep(100);
    backends = await loadBackends(cluster);
  }
  console.log(
    `${SCENARIO}: ${name}: wrangler dev SIGKILLed ${seconds(killedAt - triggeredAt)} after the trigger, ${landed(midway, data)}; ` +
      `${committed} rows of the run committed once it was gone, its backends gone ${seconds(Date.now() - killedAt)} after; restarting`,
  );
  check("the kill landed mid-load: some but not all of the run's rows committed, a chunk's transaction open", landedMidway(midway, data) && committed < data.valid, landed(midway, data));
  check("the killed load's backend ended (its transaction rolled back, no lock left)", backends === 0, `${backends} of the load's backends left 15 s after the kill`);
  const restartedAt = Date.now();
  const restarted = await start();
  const run = await waitForRun(restarted, PIPELINE, runId, 180_000);
  console.log(`${SCENARIO}: ${name}: ${runId} ended ${run.status} ${seconds(Date.now() - restartedAt)} after the restart (attempts ${attemptsOf(run)}, resumes ${run.resumes})${run.error ? `: ${run.error}` : ""}`);
  for (const line of notableLog([killed, restarted], runId)) console.log(`${SCENARIO}: ${name}: server log: ${line}`);
  check("the run resumed and succeeded, the load attempted again", run.status === "succeeded" && run.resumes >= 1 && (stageOf(run, "load")?.attempts ?? 0) >= 2, `status ${run.status}, resumes ${run.resumes}, attempts ${attemptsOf(run)}${run.error ? `, error ${run.error}` : ""}`);
  expectBooks(check, run, data);
  await expectTable(check, cluster, runId, data);
  return { name, runId };
}

async function trigger(server: DevServer): Promise<string> {
  const started = await api(server, `/api/pipelines/${PIPELINE}/trigger`, { method: "POST" });
  if (!started.pipelineId || started.errors) throw new Error(`trigger failed: ${JSON.stringify(started)}`);
  return started.pipelineId;
}

function stageOf(run: any, name: string): any {
  return run?.stages?.find((stage: any) => stage.name === name);
}

async function rowsOf(cluster: Cluster, runId: string): Promise<number> {
  const [row] = await clusterQuery<{ n: string }>(cluster, "SELECT count(*) AS n FROM public.orders WHERE run_id = $1", [runId]);
  return Number(row?.n ?? -1);
}

/** The load's connections to the database (backends named as the load names its connections). */
async function loadBackends(cluster: Cluster): Promise<number> {
  const [row] = await clusterQuery<{ n: string }>(cluster, "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE $1", [LOAD_APPLICATION]);
  return Number(row?.n ?? -1);
}

interface Midway {
  /** The run as the API last showed it. */
  view: any;
  /** Rows of the run committed, as last counted. */
  committed: number;
  /** The load's connections with a transaction open then, and the oldest one's age. */
  openTransactions: number;
  openForMs: number;
}

function landedMidway(midway: Midway, data: PgExport): boolean {
  return midway.view?.currentStage === "load" && midway.committed > 0 && midway.committed < data.valid && midway.openTransactions > 0;
}

function landed(midway: Midway, data: PgExport): string {
  const load = stageOf(midway.view, "load");
  return (
    `${midway.committed} of ${data.valid} rows of the run committed, the load's next chunk in a transaction open for ${midway.openForMs} ms (${midway.openTransactions} open) ` +
    `(the API last showed ${midway.view?.currentStage}, load attempt ${load?.attempts}, ${load?.outputCount ?? 0} rows written)`
  );
}

/**
 * How long the load's next chunk's transaction has been open when the kill comes: its first statements
 * sent. Short, because a chunk's transaction is: 5,000 rows a statement (one array a column) takes a
 * chunk of 20,000 through in about 300 ms, and a longer wait could see every chunk commit before it.
 */
const OPEN_FOR_MS = 50;

/**
 * Polls the run through the API and the database side by side until the load is at work, a quarter or
 * more (not all) of the run's rows are committed, and the load has had its next chunk's transaction open
 * for a moment (some of its statements sent); answers what it saw then.
 */
async function waitForLoadMidway(server: DevServer, cluster: Cluster, runId: string, data: PgExport, timeoutMs = 180_000): Promise<Midway> {
  let view: any = null;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        const latest = await api(server, `/api/pipelines/${PIPELINE}/runs/${runId}`);
        if (polling) view = latest;
      } catch {
        // a slow answer under load: the next look
      }
      await sleep(20);
    }
  })();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (view && view.status !== "running") throw new Error(`run ${runId} ended (${view.status}) before the load could be interrupted: ${JSON.stringify(view).slice(0, 1_500)}`);
      if (view?.currentStage === "load") {
        const [row] = await clusterQuery<{ n: string; open: string; open_ms: string | null }>(
          cluster,
          `SELECT (SELECT count(*) FROM public.orders WHERE run_id = $1) AS n, count(*) AS open,
             round(max(extract(epoch FROM clock_timestamp() - xact_start)) * 1000) AS open_ms
           FROM pg_stat_activity WHERE application_name LIKE $2 AND xact_start IS NOT NULL`,
          [runId, LOAD_APPLICATION],
        );
        const midway = { view, committed: Number(row?.n ?? 0), openTransactions: Number(row?.open ?? 0), openForMs: Number(row?.open_ms ?? 0) };
        if (midway.committed >= data.valid) throw new Error(`the load of ${runId} wrote all ${midway.committed} rows before it could be interrupted`);
        if (midway.committed >= data.valid / 4 && midway.openTransactions > 0 && midway.openForMs >= OPEN_FOR_MS) return midway;
      }
      if (Date.now() > deadline) throw new Error(`never saw the load of ${runId} midway`);
      await sleep(10);
    }
  } finally {
    polling = false;
    await poller;
  }
}

/** The books of a run: every line extracted, the valid ones loaded, the invalid ones rejected, the test store's skipped. */
function expectBooks(check: Check, run: any, data: PgExport): void {
  const { accounting } = run;
  check(
    "accounting balances: every line extracted, the valid ones loaded, the invalid ones rejected, the test store's skipped",
    accounting?.balanced === true && accounting.extracted === data.lines && accounting.loaded === data.valid && accounting.rejected === data.rejected && accounting.skipped === data.skipped,
    `${accounting?.extracted} = ${accounting?.loaded} + ${accounting?.rejected} + ${accounting?.skipped}, expected ${data.lines} = ${data.valid} + ${data.rejected} + ${data.skipped}`,
  );
}

/**
 * The table after a run: exactly the export's valid orders, each once, every one written by this run,
 * the amounts right; and no connection of the load left open (each chunk's is closed after it).
 */
async function expectTable(check: Check, cluster: Cluster, runId: string, data: PgExport): Promise<void> {
  const [table] = await clusterQuery<Record<string, string | null>>(
    cluster,
    `SELECT count(*) AS total, count(DISTINCT (store_id, order_id)) AS distinct_keys, count(DISTINCT position) AS distinct_positions,
       count(*) FILTER (WHERE run_id = $1) AS of_run, count(*) FILTER (WHERE kind = 'refund') AS refunds,
       count(*) FILTER (WHERE store_id = 'test' OR order_id NOT LIKE 'pg-%') AS foreign_rows, coalesce(sum(net_cents), 0) AS net_cents
     FROM public.orders`,
    [runId],
  );
  const n = (key: string) => Number(table?.[key] ?? -1);
  check(
    "PostgreSQL holds exactly the export's valid orders, each (store_id, order_id) once, all of this run",
    n("total") === data.valid && n("distinct_keys") === data.valid && n("of_run") === data.valid && n("distinct_positions") === data.valid && n("foreign_rows") === 0,
    `count(*) ${n("total")}, distinct keys ${n("distinct_keys")}, distinct positions ${n("distinct_positions")}, of ${runId} ${n("of_run")}, other ${n("foreign_rows")}; expected ${data.valid}`,
  );
  check("the rows' amounts are the export's (refunds, sum of net_cents)", n("refunds") === data.refunds && n("net_cents") === data.netCents, `${n("refunds")} refunds, net ${n("net_cents")}; expected ${data.refunds}, ${data.netCents}`);
  const endedAt = Date.now();
  let backends = await loadBackends(cluster);
  while (backends > 0 && Date.now() - endedAt < 5_000) {
    await sleep(100);
    backends = await loadBackends(cluster);
  }
  check("no connection of the load is left open after the run", backends === 0, `${backends} of the load's backends 5 s after the run ended`);
}

/** With the server stopped: each loading run's rejected lines in D1's rejected_records, each once. */
function checkRejectedInD1(checks: Checks, persistTo: string, data: PgExport, loaded: readonly Loaded[]): void {
  if (loaded.length === 0) return;
  const results = queryLocalMany(
    persistTo,
    loaded.map((entry) => `SELECT COUNT(*) AS total, COUNT(DISTINCT position) AS distinct_positions FROM rejected_records WHERE pipeline = '${PIPELINE}' AND run_id = '${entry.runId}'`),
  );
  for (const [index, entry] of loaded.entries()) {
    const rejected = results[index]?.[0] as { total: number; distinct_positions: number } | undefined;
    checks.check(
      SCENARIO,
      `${entry.name}: rejected_records holds its ${data.rejected} invalid lines, each once`,
      rejected?.total === data.rejected && rejected.distinct_positions === data.rejected,
      `${rejected?.total} rows, ${rejected?.distinct_positions} positions`,
    );
  }
}
