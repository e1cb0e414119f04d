/**
 * Fault injection against the real server: for each of extract, transform and load, start a run, SIGKILL
 * the whole `wrangler dev` process group while that stage is at work, start the server again on the same
 * local state, and check that the run resumes and finishes `succeeded` with exactly the expected D1 rows,
 * no duplicates, every extracted record accounted for and no staging table left in D1. Extract is killed
 * with the transform that follows it at work and the load following that one writing its rows aside
 * (overlap on, three chunks staged); transform and load are killed in runs that go stage by stage
 * (overlap off), since a following stage has next to nothing left in its turn (a load's turn is only the
 * publish of what it wrote aside) and the kill would come after the run.
 *
 *   npm run test:faults
 *
 * Then alerts against a real local receiver: none for those successes, `run_failed` for a run whose source
 * keeps answering 503, `run_recovered` for the next success.
 *
 * Then store-drops killed while its extract agents read a few hundred uploaded CSV objects, and
 * orders-lake killed while its load commits a Parquet dataset's partitions (scripts/lib/fault-store-drops.ts,
 * scripts/lib/fault-orders-lake.ts): each run must resume and succeed with every record exactly once, the
 * object ledger and the dataset's files as they should be, read back with D1 and DuckDB.
 *
 * Then data-aware triggers on a server of their own (scripts/lib/fault-triggers.ts): killed between an
 * upstream's success and its downstream's start, each downstream slot must run exactly once.
 *
 * Then dataset checks on a server of their own (scripts/lib/fault-checks.ts): `orders` over 300,000-line
 * CSV exports, killed while its checks' partitioned pass runs and right after the verdict (the run must
 * resume and succeed, every row once), and an export in part in an unknown currency killed in its pass
 * (it must fail `checks_failed` with nothing written, and a retry accepting the check load it once).
 *
 * Then PostgreSQL through Hyperdrive on a server and a throwaway cluster of their own
 * (scripts/lib/fault-postgres.ts): `orders-to-postgres` upserting a 200,000-line orders CSV export, the
 * database SIGKILLed mid-load and started again a couple of seconds later, then (the table emptied) the
 * server SIGKILLed mid-load. Each run must succeed (the second resumed), its books balanced, the table
 * holding exactly the export's valid orders, each once, all of that run.
 *
 * Then a hostile source over a real socket: an NDJSON body with a 50 MB line between ten good lines, from
 * a URL with an API key in its query. The run must end with 10 loaded and 1 rejected, /api/health must
 * keep answering while the line streams, and the key must appear nowhere in the run or the server's log.
 *
 * Every server runs with an API token, which every request sends. Scenarios are chosen with
 * FAULT_SCENARIOS (a comma list of default, alerts, store-drops, orders-lake, triggers, checks, postgres, hostile;
 * all by default);
 * FAULT_STAGES picks the default pipeline's stages, FAULT_RECORDS its records, FAULT_DROP_FILES and
 * FAULT_DROP_ROWS the store-drops files, FAULT_LAKE_ORDERS the orders-lake orders, FAULT_CHECK_LINES the lines
 * of each checks export, FAULT_PG_ORDERS the lines of the postgres export.
 *
 * Every process it starts is stopped by the PID it started, also on failure.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateLocal, queryLocalMany, sleep, startDev, stopDev, type DevServer } from "./lib/wrangler-dev.ts";
import { startAlertReceiver } from "./lib/alert-receiver.ts";
import { startSourceServer, type SourceServer } from "./lib/source-server.ts";
import { api, API_TOKEN, Checks, killServer, restartServer, type FaultContext } from "./lib/fault-kit.ts";
import { storeDropsScenario } from "./lib/fault-store-drops.ts";
import { lakeData, ordersLakeScenario, serveLakeSource } from "./lib/fault-orders-lake.ts";
import { triggersScenario } from "./lib/fault-triggers.ts";
import { checksScenario } from "./lib/fault-checks.ts";
import { postgresScenario } from "./lib/fault-postgres.ts";

const STAGES = ["extract", "transform", "load"] as const;
type Stage = (typeof STAGES)[number];

/** Enough records that each stage takes long enough to be caught at work. */
const RECORDS = Number(process.env.FAULT_RECORDS ?? 200_000);
const SCENARIOS = ["default", "alerts", "store-drops", "orders-lake", "triggers", "checks", "postgres", "hostile"] as const;
type Scenario = (typeof SCENARIOS)[number];
const SELECTED = new Set((process.env.FAULT_SCENARIOS?.split(",").map((name) => name.trim()).filter(Boolean) ?? [...SCENARIOS]) as Scenario[]);
for (const name of SELECTED) if (!SCENARIOS.includes(name)) throw new Error(`FAULT_SCENARIOS: unknown scenario ${name} (known: ${SCENARIOS.join(", ")})`);
if (process.env.FAULT_SKIP_HOSTILE === "1") SELECTED.delete("hostile");
const ON_MAIN_SERVER: Scenario[] = ["default", "alerts", "store-drops", "orders-lake"];
const STAGES_TO_RUN = SELECTED.has("default") ? ((process.env.FAULT_STAGES?.split(",") ?? STAGES) as Stage[]) : [];
/** Records a staged chunk holds (the default tuning's chunkRecords). */
const FOLLOWED_CHUNK_RECORDS = 20_000;

/**
 * The default pipeline's config for a scenario. Transform follows extract (overlap, the default), so it
 * does almost all of its work during extract and is killed there, with extract; the transform scenario
 * runs stage by stage (overlap off) so a kill lands inside a transform that is the run's current stage.
 */
function pipelineConfig(stage: Stage | undefined): string {
  return JSON.stringify({ timeouts: { sourceMs: 60_000, stageMs: 120_000 }, retries: { baseDelayMs: 50, maxDelayMs: 200 }, ...(stage === "transform" || stage === "load" ? { overlap: false } : {}) });
}

/** What the load following transform had written aside when the server was killed (read with it stopped). */
function rowsAside(persistTo: string, runId: string): string {
  const suffix = `_${runId.replace(/[^A-Za-z0-9_]/g, "_")}`;
  const [tables] = queryLocalMany(persistTo, [`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_staged\\_%${suffix}' ESCAPE '\\'`]);
  const name = (tables?.[0] as { name?: string } | undefined)?.name;
  if (!name) return "the load not following it yet";
  const counted = queryLocalMany(persistTo, [`SELECT COUNT(*) AS n FROM "${name}"`])[0] as { n: number }[] | undefined;
  return `the load following that one with ${counted?.[0]?.n ?? 0} rows aside`;
}

/** store-drops: files uploaded, and orders in each. */
const DROP_FILES = Number(process.env.FAULT_DROP_FILES ?? 200);
const DROP_ROWS = Number(process.env.FAULT_DROP_ROWS ?? 2_000);
/** orders-lake: orders the source serves, over 30 days. */
const LAKE_ORDERS = Number(process.env.FAULT_LAKE_ORDERS ?? 200_000);
/** Every 50th record has a bad value, so rejections are part of the accounting. */
const isInvalid = (index: number) => index % 50 === 7;

interface Outcome {
  stage: Stage;
  runId: string;
  killedAt: string;
  status: string;
  resumes: number;
  attempts: string;
  accounting: string;
  d1Rows: number;
  d1Distinct: number;
  d1Rejected: number;
  problems: string[];
}

function dataset(stage: Stage): unknown[] {
  return Array.from({ length: RECORDS }, (_, index) => ({
    id: `${stage}-${String(index).padStart(7, "0")}`,
    value: isInvalid(index) ? "n/a" : String((index % 300) + 0.5),
    timestamp: 1_700_000_000_000 + index,
    metadata: { type: `sensor-${index % 3}` },
  }));
}

async function main(): Promise<number> {
  const persistTo = mkdtempSync(join(tmpdir(), "pipeline-faults-"));
  const source: SourceServer = await startSourceServer();
  const alerts = await startAlertReceiver();
  const alertProblems: string[] = [];
  const checks = new Checks();
  const outcomes: Outcome[] = [];
  const started = Date.now();
  const lake = SELECTED.has("orders-lake") ? lakeData(LAKE_ORDERS) : null;
  const lakeServed = { count: 0 };
  const vars: Record<string, string> = {
    ALLOW_UNAUTHENTICATED: "false",
    API_TOKEN,
    PIPELINE_SOURCE_URL: source.url,
    PIPELINE_CONFIG: pipelineConfig(STAGES_TO_RUN[0]),
    ALERT_WEBHOOK_URL: alerts.url,
    ...(lake ? { ORDERS_SOURCE_URL: serveLakeSource(source, lake, lakeServed) } : {}),
  };
  const context: FaultContext = { persistTo, vars, server: undefined, checks, afterStop: [] };
  const timings: string[] = [];
  try {
    // Every scenario but the hostile source runs on one server and its local state.
    if (ON_MAIN_SERVER.some((name) => SELECTED.has(name))) {
      migrateLocal(persistTo);
      let server = await restartServer(context);
      for (const [index, stage] of STAGES_TO_RUN.entries()) {
        const expectedValid = Array.from({ length: RECORDS }, (_, index) => index).filter((index) => !isInvalid(index)).length;
        // Extract is caught while the source is still sending; later stages while they crunch records.
        source.serve(dataset(stage), { slowMs: stage === "extract" ? 4_000 : 0 });
        const sentBefore = source.started;
        const trigger = await api(server, "/api/pipeline/trigger", { method: "POST" });
        const runId: string = trigger.pipelineId;
        if (!runId || trigger.errors) throw new Error(`trigger failed: ${JSON.stringify(trigger)}`);

        let killedAt = "";
        const deadline = Date.now() + 120_000;
        while (!killedAt && Date.now() < deadline) {
          const run = await api(server, `/api/pipeline/runs/${runId}`);
          if (run.status !== "running") throw new Error(`run ${runId} finished (${run.status}) before ${stage} could be interrupted: ${JSON.stringify(run).slice(0, 1500)}`);
          const sourceBusy = stage !== "extract" || source.started > sentBefore;
          // Extract is killed once a few chunks are staged: the transform following it is at work on them.
          const followed = stage !== "extract" || (run.stages[0]?.inputCount ?? 0) >= 3 * FOLLOWED_CHUNK_RECORDS;
          if (run.currentStage === stage && sourceBusy && followed) {
            const counts = run.stages.find((entry: any) => entry.name === stage);
            await killServer(context);
            const following = stage === "extract" ? `, the transform following it, ${rowsAside(persistTo, runId)}` : ", stage by stage";
            killedAt = `${stage} (${stage === "load" ? `${counts?.outputCount ?? 0} rows written` : `${counts?.inputCount ?? 0} records read`}${following})`;
          } else {
            await sleep(stage === "extract" ? 50 : 5);
          }
        }
        if (!killedAt) throw new Error(`never saw ${stage} at work`);
        console.log(`killed wrangler dev during ${killedAt} of ${runId}; restarting`);

        source.serve(dataset(stage));
        // The run keeps the settings it started with; the next scenario's run gets the next one's.
        context.vars.PIPELINE_CONFIG = pipelineConfig(STAGES_TO_RUN[index + 1] ?? stage);
        server = await restartServer(context);
        let run: any;
        const finishBy = Date.now() + 180_000;
        do {
          await sleep(250);
          run = await api(server, `/api/pipeline/runs/${runId}`);
        } while (run.status === "running" && Date.now() < finishBy);

        outcomes.push({
          stage,
          runId,
          killedAt,
          status: run.status,
          resumes: run.resumes,
          attempts: run.stages.map((entry: any) => `${entry.name[0]}${entry.attempts}`).join(" "),
          accounting: `${run.accounting.extracted} = ${run.accounting.loaded} + ${run.accounting.rejected}`,
          d1Rows: 0,
          d1Distinct: 0,
          d1Rejected: 0,
          problems: [
            ...(run.status === "succeeded" ? [] : [`status ${run.status}: ${run.error ?? ""}`]),
            ...(run.resumes >= 1 ? [] : ["the run was not resumed"]),
            ...(run.accounting.balanced ? [] : ["accounting does not balance"]),
            ...(run.accounting.extracted === RECORDS ? [] : [`extracted ${run.accounting.extracted}, expected ${RECORDS}`]),
            ...(run.accounting.loaded === expectedValid ? [] : [`loaded ${run.accounting.loaded}, expected ${expectedValid}`]),
          ],
        });
      }
      // Alerts, against the real receiver: the runs above all succeeded, so nothing was sent yet.
      if (SELECTED.has("alerts")) {
        if (alerts.received.length !== 0) alertProblems.push(`expected no alerts for successful runs, got ${alerts.received.length}`);
        source.serve([], { status: 503 });
        const failed = await api(server, "/api/pipeline/trigger?wait=true", { method: "POST" });
        source.serve([{ id: "alert-check", value: "1", timestamp: 0 }]);
        const recovered = await api(server, "/api/pipeline/trigger?wait=true", { method: "POST" });
        const deadline = Date.now() + 15_000;
        while (alerts.received.length < 2 && Date.now() < deadline) await sleep(100);
        const [first, second] = alerts.received;
        if (failed.run?.status !== "failed") alertProblems.push(`the failing run ended ${failed.run?.status}`);
        if (first?.event !== "run_failed" || first?.runId !== failed.pipelineId || first?.stage !== "extract") {
          alertProblems.push(`expected run_failed for ${failed.pipelineId}, got ${JSON.stringify(first)}`);
        }
        if (second?.event !== "run_recovered" || second?.runId !== recovered.pipelineId) {
          alertProblems.push(`expected run_recovered for ${recovered.pipelineId}, got ${JSON.stringify(second)}`);
        }
        console.log(`alerts received: ${alerts.received.map((alert) => `${String(alert.event)} ${String(alert.runId)}`).join(", ")}`);
      }

      // The pipelines that read objects and write files, on the same server and state.
      const more: [Scenario, () => Promise<void>][] = [
        ["store-drops", () => storeDropsScenario(context, { files: DROP_FILES, rowsPerFile: DROP_ROWS })],
        ["orders-lake", () => ordersLakeScenario(context, lake!, lakeServed)],
      ];
      for (const [name, scenario] of more) {
        if (!SELECTED.has(name)) continue;
        const begun = Date.now();
        try {
          if (!context.server) await restartServer(context);
          await scenario();
        } catch (error) {
          checks.check(name, "the scenario ran to its end", false, error instanceof Error ? error.message.slice(0, 2_000) : String(error));
        }
        timings.push(`${name} ${((Date.now() - begun) / 1000).toFixed(1)} s`);
      }
    }
  } finally {
    if (context.server) await stopDev(context.server);
    context.server = undefined;
    await source.close();
    await alerts.close();
  }

  // Read D1 with the server stopped: exactly the expected rows, each once.
  // One start of wrangler for all of them: two statements per run.
  const counted = outcomes.length === 0 ? [] : queryLocalMany(
    persistTo,
    [
      ...outcomes.flatMap((outcome) => [
        `SELECT COUNT(*) AS total, COUNT(DISTINCT id) AS distinct_ids, SUM(run_id != '${outcome.runId}') AS other_runs FROM metrics WHERE id LIKE '${outcome.stage}-%'`,
        `SELECT COUNT(*) AS total, COUNT(DISTINCT position) AS distinct_positions FROM rejected_records WHERE run_id = '${outcome.runId}'`,
      ]),
      // What loads that followed transform held aside: dropped by the run's end, a crash or not.
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_staged\\_%' ESCAPE '\\'`,
    ],
  );
  const leftAside = ((counted[outcomes.length * 2] ?? []) as { name: string }[]).map((row) => row.name);
  for (const [index, outcome] of outcomes.entries()) {
    const expectedValid = Array.from({ length: RECORDS }, (_, index) => index).filter((index) => !isInvalid(index)).length;
    const rows = counted[index * 2]?.[0] as { total: number; distinct_ids: number; other_runs: number } | undefined;
    const rejected = counted[index * 2 + 1]?.[0] as { total: number; distinct_positions: number } | undefined;
    outcome.d1Rows = rows?.total ?? 0;
    outcome.d1Distinct = rows?.distinct_ids ?? 0;
    outcome.d1Rejected = rejected?.total ?? 0;
    if (outcome.d1Rows !== expectedValid) outcome.problems.push(`D1 has ${outcome.d1Rows} rows, expected ${expectedValid}`);
    if (outcome.d1Distinct !== outcome.d1Rows) outcome.problems.push("D1 has duplicate ids");
    if ((rows?.other_runs ?? 0) !== 0) outcome.problems.push("some rows were loaded by another run");
    const aside = leftAside.filter((name) => name.endsWith(`_${outcome.runId.replace(/[^A-Za-z0-9_]/g, "_")}`));
    if (aside.length > 0) outcome.problems.push(`a staging table was left in D1: ${aside.join(", ")}`);
    if (outcome.d1Rejected !== RECORDS - expectedValid || rejected?.distinct_positions !== outcome.d1Rejected) {
      outcome.problems.push(`rejected_records has ${outcome.d1Rejected} rows, expected ${RECORDS - expectedValid}`);
    }
  }
  // The checks that read the local state of the scenarios above, with the server stopped.
  for (const afterStop of context.afterStop) {
    try {
      await afterStop();
    } catch (error) {
      checks.check("local state", "read after the server stopped", false, error instanceof Error ? error.message.slice(0, 2_000) : String(error));
    }
  }
  rmSync(persistTo, { recursive: true, force: true });
  if (SELECTED.has("triggers")) {
    const begun = Date.now();
    try {
      await triggersScenario(checks);
    } catch (error) {
      checks.check("triggers", "the scenario ran to its end", false, error instanceof Error ? error.message.slice(0, 2_000) : String(error));
    }
    timings.push(`triggers ${((Date.now() - begun) / 1000).toFixed(1)} s`);
  }
  if (SELECTED.has("checks")) {
    const begun = Date.now();
    try {
      await checksScenario(checks);
    } catch (error) {
      checks.check("checks", "the scenario ran to its end", false, error instanceof Error ? error.message.slice(0, 2_000) : String(error));
    }
    timings.push(`checks ${((Date.now() - begun) / 1000).toFixed(1)} s`);
  }
  if (SELECTED.has("postgres")) {
    const begun = Date.now();
    try {
      await postgresScenario(checks);
    } catch (error) {
      checks.check("postgres", "the scenario ran to its end", false, error instanceof Error ? error.message.slice(0, 2_000) : String(error));
    }
    timings.push(`postgres ${((Date.now() - begun) / 1000).toFixed(1)} s`);
  }
  const hostile = SELECTED.has("hostile") ? await hostileSource() : null;

  console.log(`\nFault injection (${[...SELECTED].join(", ")}): ${RECORDS} records per default run, ${((Date.now() - started) / 1000).toFixed(1)} s${timings.length ? `; ${timings.join(", ")}` : ""}\n`);
  if (outcomes.length > 0) console.table(
    outcomes.map((outcome) => ({
      killed: outcome.killedAt,
      run: outcome.runId,
      status: outcome.status,
      resumes: outcome.resumes,
      attempts: outcome.attempts,
      "extracted = loaded + rejected": outcome.accounting,
      "D1 rows": outcome.d1Rows,
      "D1 rejected": outcome.d1Rejected,
      ok: outcome.problems.length === 0 ? "yes" : outcome.problems.join("; "),
    })),
  );
  for (const problem of alertProblems) console.log(`alerts: ${problem}`);
  const failedChecks = checks.all.filter((entry) => !entry.ok);
  if (checks.all.length > 0) console.log(`store-drops / orders-lake / triggers / checks / postgres: ${checks.all.length - failedChecks.length} of ${checks.all.length} checks passed`);
  for (const entry of failedChecks) console.log(`FAILED ${entry.scenario}: ${entry.name}${entry.detail ? ` (${entry.detail})` : ""}`);
  if (hostile) {
    console.log(`hostile source: ${hostile.summary}`);
    for (const problem of hostile.problems) console.log(`hostile source: ${problem}`);
  }
  const failed =
    outcomes.length !== STAGES_TO_RUN.length ||
    outcomes.some((outcome) => outcome.problems.length > 0) ||
    alertProblems.length > 0 ||
    failedChecks.length > 0 ||
    (hostile?.problems.length ?? 0) > 0;
  console.log(failed ? "FAULT INJECTION FAILED" : "fault injection passed");
  return failed ? 1 : 0;
}

/** A 50 MB NDJSON line over a real socket, from a URL carrying an API key. */
async function hostileSource(): Promise<{ summary: string; problems: string[] }> {
  const persistTo = mkdtempSync(join(tmpdir(), "pipeline-hostile-"));
  const source = await startSourceServer();
  const secret = "fault-key-6d1c0a9b";
  const good = (from: number) => Array.from({ length: 5 }, (_, index) => `${JSON.stringify({ id: `h${from + index}`, value: "1", timestamp: 0 })}\n`).join("");
  const piece = Buffer.alloc(64 * 1024, "x");
  source.route("/huge.ndjson", async (response) => {
    response.writeHead(200, { "content-type": "application/x-ndjson" });
    response.write(`${good(0)}{"id":"huge","pad":"`);
    for (let written = 0; written < 50 * 1024 * 1024; written += piece.length) {
      if (response.destroyed) return;
      if (!response.write(piece)) await new Promise((resolve) => response.once("drain", resolve));
    }
    response.end(`"}\n${good(5)}`);
  });
  const vars = {
    ALLOW_UNAUTHENTICATED: "false",
    API_TOKEN,
    PIPELINE_CONFIG: JSON.stringify({ sources: [{ type: "http", url: `${source.url.replace("/records", "/huge.ndjson")}?api_key=${secret}`, format: "ndjson", timeoutMs: 60_000 }] }),
  };
  const problems: string[] = [];
  let server: DevServer | undefined;
  let summary = "";
  try {
    migrateLocal(persistTo);
    server = await startDev({ persistTo, vars });
    const begun = Date.now();
    const trigger = await api(server, "/api/pipeline/trigger", { method: "POST" });
    let run: any;
    let slowestHealth = 0;
    let healthChecks = 0;
    do {
      const asked = Date.now();
      const health = await fetch(`${server.url}/api/health`, { signal: AbortSignal.timeout(30_000) });
      if (!health.ok) problems.push(`/api/health answered ${health.status}`);
      slowestHealth = Math.max(slowestHealth, Date.now() - asked);
      healthChecks += 1;
      run = await api(server, `/api/pipeline/runs/${trigger.pipelineId}`);
      await sleep(50);
    } while (run.status === "running" && Date.now() - begun < 120_000);
    const took = Date.now() - begun;
    summary = `${run.status} in ${(took / 1000).toFixed(1)} s, extracted ${run.accounting.extracted} = ${run.accounting.loaded} + ${run.accounting.rejected}, ` +
      `"${run.rejected?.[0]?.reason}", /api/health answered ${healthChecks} times meanwhile, slowest ${slowestHealth} ms`;
    if (run.status !== "succeeded") problems.push(`the run ended ${run.status}: ${run.error}`);
    if (run.accounting.loaded !== 10 || run.accounting.rejected !== 1) problems.push(`expected 10 loaded and 1 rejected, got ${JSON.stringify(run.accounting)}`);
    if (slowestHealth > 2_000) problems.push(`/api/health took ${slowestHealth} ms while the line streamed`);
    // A failing request with the key, so its URL goes through errors and logs too.
    source.route("/huge.ndjson", async (response) => void response.writeHead(500).end("down"));
    const failed = await api(server, "/api/pipeline/trigger?wait=true", { method: "POST" });
    const everything = JSON.stringify([run, failed]) + server.log.join("");
    if (failed.run?.status !== "failed") problems.push(`the failing run ended ${failed.run?.status}`);
    if (everything.includes(secret)) problems.push("the API key appears in a run or in the server's log");
    if (!JSON.stringify(failed).includes("api_key=***")) problems.push(`the failed run does not show the URL redacted: ${failed.run?.error}`);
  } finally {
    if (server) await stopDev(server);
    await source.close();
    rmSync(persistTo, { recursive: true, force: true });
  }
  return { summary, problems };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
