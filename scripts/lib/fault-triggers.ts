import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ORDERS_SAMPLE_CSV } from "../../src/pipelines/orders/sample.ts";
import { migrateLocal, queryLocalMany, sleep, stopDev, type DevServer } from "./wrangler-dev.ts";
import { startSourceServer } from "./source-server.ts";
import { api, apiResponse, API_TOKEN, Checks, killServer, restartServer, serverOf, type FaultContext } from "./fault-kit.ts";

/**
 * Data-aware triggers under faults, on a server of their own (the shipped pipelines; `orders` reads its
 * sample CSV from a local source, which can be made to answer 503).
 *
 * First the time-and-data gate of an ordinary slot: an `orders` hour of yesterday (Berlin) fails while the
 * source is down, and `orders-daily`, its schedule set to every minute for the while, has slots that wait
 * for it. The failed run is retried, and:
 *
 * - Killed between the upstream's success and the downstream's start: the server is SIGKILLed the moment
 *   the retry says it succeeded, before or as `orders-daily` hears of it (where the kill landed is
 *   reported).
 * - Killed while the released slots wait for the pipeline to be free: two slots or more wait; once the
 *   retry succeeded the first starts, and the others' start is refused (one run at a time) and tried
 *   again in 15 s; the kill lands in that wait, every time.
 *
 * After each restart, every slot that waited must run exactly once, succeeded, consuming the retry (and
 * after it), with no slot left waiting. Then `orders-daily` is back on its own schedule.
 *
 * Then cascades, on the same state with `orders` reading its built-in sample again (the server restarted
 * without ORDERS_SOURCE_URL): `orders` backfilled with `cascade: true`, so that `orders-daily` must
 * backfill the slot that consumed that day, once.
 *
 * - Killed right after the upstream succeeded: the server is SIGKILLed the moment the `orders` backfill
 *   says it succeeded, before or while it tells `orders-daily` (where the kill landed is reported).
 * - Killed while the downstream waits to start: `orders-daily` is kept busy by a backfill of its own, so
 *   the cascade's start is refused and waits to be tried again (`cascade_not_started`); the kill lands in
 *   that wait, every time. After the restart the busy backfill is cancelled, and the cascade's retry starts.
 *
 * After each restart, the downstream slot must run exactly once, after its upstream, consuming the
 * upstream's 24 runs of the day.
 *
 * Then `store-drops` and files landing: a batch of CSV files uploaded, each with the notification R2 would
 * send (the server simulates them, as `npm run dev` does), and the server SIGKILLed as the debounced object
 * run is admitted (the moment it appears), then again for a second batch at the moment its debounce window
 * closes. After each restart every file must be read by exactly one run, each row loaded once.
 */

const SCENARIO = "triggers";
const UPSTREAM = "orders";
const DOWNSTREAM = "orders-daily";

export async function triggersScenario(checks: Checks): Promise<void> {
  const persistTo = mkdtempSync(join(tmpdir(), "pipeline-faults-triggers-"));
  // orders reads the sample CSV it would read built in, from a source that answers 503 while `feed` says so.
  const source = await startSourceServer();
  const feed: OrdersFeed = { status: 200 };
  source.route("/orders.csv", async (response) => {
    if (feed.status !== 200) response.writeHead(feed.status).end("unavailable");
    else response.writeHead(200, { "content-type": "text/csv" }).end(ORDERS_SAMPLE_CSV);
  });
  const vars = { ALLOW_UNAUTHENTICATED: "false", API_TOKEN, LOCAL_R2_NOTIFICATIONS: "true" };
  const context: FaultContext = { persistTo, vars: { ...vars, ORDERS_SOURCE_URL: source.url.replace(/\/records$/, "/orders.csv") }, server: undefined, checks, afterStop: [] };
  const batches: DropBatch[] = [];
  try {
    migrateLocal(persistTo);
    await restartServer(context);
    // First, while nothing else runs: orders-daily is on an every-minute schedule only in here.
    await waitingSlotsKilled(context, feed);
    // The cascades read orders' built-in sample again, as they always have: under the load of orders-daily's
    // long backfill, workerd can leave a fetch of the local source unanswered past its 10 s timeout.
    await stopDev(serverOf(context));
    context.server = undefined;
    context.vars = vars;
    await restartServer(context);
    await killedAfterUpstreamSuccess(context);
    await killedWhileDownstreamWaits(context);
    // Only the object runs read these files: store-drops' own clock (every 15 minutes) is paused.
    await apiResponse(serverOf(context), `/api/pipelines/${DROPS}/schedule/pause`, { method: "POST" });
    batches.push(await killedAsObjectsAdmitted(context, "a", "killed as the object run was admitted", async (server) => {
      await killWhen(context, async () => (await objectRunsOf(server, "a")).length > 0, 120_000);
    }));
    batches.push(await killedAsObjectsAdmitted(context, "b", "killed as the debounce window closed", async (_server, lastSent) => {
      // The window closes one debounce after the last arrival (alarms fire on whole seconds), give or take
      // the local queue's batch delay: the kill lands in or right around the admission.
      await sleep(Math.max(0, lastSent + DEBOUNCE_MS + 1_200 - Date.now()));
      await killServer(context);
    }));
  } finally {
    if (context.server) await stopDev(context.server);
    context.server = undefined;
    await source.close();
  }
  try {
    checkDropsInD1(checks, persistTo, batches);
  } finally {
    rmSync(persistTo, { recursive: true, force: true });
  }
}

/** What the orders source answers: the sample CSV at 200, or this status with no CSV. */
interface OrdersFeed {
  status: number;
}

/** An orders slot whose backfill run failed. */
interface FailedHour {
  slot: number;
  runId: string;
}

/**
 * The gate of ordinary slots, killed twice: orders-daily on an every-minute schedule (set through the API,
 * reset at the end), its slots waiting for a failed orders hour of yesterday, that hour retried.
 */
async function waitingSlotsKilled(context: FaultContext, feed: OrdersFeed): Promise<void> {
  // Yesterday on Berlin's calendar: the day every slot of orders-daily today consumes.
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin" }).format(new Date());
  const yesterday = new Date(Date.parse(today) - 86_400_000).toISOString().slice(0, 10);
  // 10:00 to 11:00 UTC holds orders' 11:15 slot (12:15 in summer); 12:00 to 13:00 UTC the one two hours on.
  const first = await failOrdersHour(context, feed, `${yesterday}T10:00:00Z`, `${yesterday}T11:00:00Z`);
  const put = await apiResponse(serverOf(context), `/api/pipelines/${DOWNSTREAM}/schedule`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ cron: "* * * * *", timezone: "Europe/Berlin" }) });
  if (put.status !== 200) throw new Error(`the every-minute schedule was refused: ${put.status} ${await put.text()}`);
  try {
    await killedBeforeDownstreamStart(context, first, {
      name: "killed between the upstream's success and the downstream's start",
      waitingSlots: 1,
      inTheWait: false,
      // The retry is asked to answer once it has ended (the coordinator answers the moment it saves the
      // run, in the same turn as it sends the notice): the kill lands on that answer, as orders-daily hears.
      kill: async (server, failedRunId) => {
        const { retryId, ended } = await retryRun(server, failedRunId, { wait: true });
        if (ended) {
          const killedAt = Date.now();
          await killServer(context);
          return { retryId, killedAt, refused: [] };
        }
        // Not ended within the request's wait: polled as fast as the server answers.
        return { retryId, killedAt: await killWhen(context, async (server) => upstreamEnded(server, retryId), 60_000), refused: [] };
      },
    });
    const second = await failOrdersHour(context, feed, `${yesterday}T12:00:00Z`, `${yesterday}T13:00:00Z`);
    await killedBeforeDownstreamStart(context, second, {
      name: "killed while the released slots wait for the pipeline to be free",
      waitingSlots: 2,
      inTheWait: true,
      // The first waiting slot starts once the retry succeeded; the others are refused while it runs and
      // look again in 15 s. Killed the moment one of them says its upstream is in.
      kill: async (server, failedRunId, waited) => {
        const { retryId } = await retryRun(server, failedRunId);
        let refused: number[] = [];
        const killedAt = await killWhen(
          context,
          async (server) => {
            const slots = await ledgerOf(server, Math.min(...waited));
            refused = slots.filter((slot: any) => waited.includes(slot.scheduledFor) && slot.state === "waiting" && slot.waitingFor?.length === 0).map((slot: any) => slot.scheduledFor);
            // Never came: every waiting slot started without waiting (the check below says so).
            const started = slots.filter((slot: any) => waited.includes(slot.scheduledFor) && slot.state === "ran").length;
            return refused.length > 0 || started === waited.length;
          },
          120_000,
        );
        return { retryId, killedAt, refused };
      },
    });
  } finally {
    feed.status = 200;
    const server = context.server;
    if (server) {
      // Back to its own schedule once nothing of it waits (a slot refused as busy is tried again in 15 s).
      const deadline = Date.now() + 60_000;
      while ((await api(server, `/api/pipelines/${DOWNSTREAM}`)).waiting.length > 0 && Date.now() < deadline) await sleep(500);
      await apiResponse(server, `/api/pipelines/${DOWNSTREAM}/schedule`, { method: "DELETE" });
      const [schedule] = await api(server, `/api/pipelines/${DOWNSTREAM}/schedule`);
      const view = await api(server, `/api/pipelines/${DOWNSTREAM}`);
      context.checks.check(SCENARIO, `${DOWNSTREAM} is back on its own schedule, nothing of it waiting`, schedule?.source === "config" && view.waiting.length === 0, `source ${schedule?.source}, waiting ${view.waiting.length}`);
    }
  }
}

/** With the orders source answering 503, a backfill of one orders hour, which fails; answers its run. */
async function failOrdersHour(context: FaultContext, feed: OrdersFeed, from: string, to: string): Promise<FailedHour> {
  const server = serverOf(context);
  feed.status = 503;
  try {
    const response = await apiResponse(server, `/api/pipelines/${UPSTREAM}/backfill`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ from, to }) });
    const body = (await response.json()) as { backfillId?: string; toRun?: number };
    if (response.status !== 202 || !body.backfillId || body.toRun !== 1) throw new Error(`the backfill of one orders hour was refused: ${response.status} ${JSON.stringify(body)}`);
    const deadline = Date.now() + 120_000;
    let backfill: any;
    do {
      await sleep(250);
      backfill = await api(server, `/api/pipelines/${UPSTREAM}/backfills/${body.backfillId}`);
    } while (!backfill.endedAt && Date.now() < deadline);
    const [slot] = backfill.slots ?? [];
    if (!backfill.endedAt || slot?.status !== "failed" || !slot.runId) throw new Error(`the orders hour did not fail as the source was down: ${JSON.stringify(backfill)}`);
    return { slot: slot.scheduledFor, runId: slot.runId };
  } finally {
    feed.status = 200;
  }
}

/**
 * Waits until at least `waitingSlots` slots of orders-daily wait for the failed hour, retries it and kills
 * the server as `kill` says, restarts, and follows every slot that waited to its run.
 */
async function killedBeforeDownstreamStart(
  context: FaultContext,
  failed: FailedHour,
  scenario: {
    name: string;
    waitingSlots: number;
    /** Whether the kill must land while released slots wait for the pipeline to be free (`refused`). */
    inTheWait: boolean;
    /** Retries the failed run and kills the server: answers the retry, when it was killed, and the slots refused as busy then. */
    kill: (server: DevServer, failedRunId: string, waited: number[]) => Promise<{ retryId: string; killedAt: number; refused: number[] }>;
  },
): Promise<void> {
  const { name } = scenario;
  const check = (what: string, ok: boolean, detail = "") => context.checks.check(SCENARIO, `${name}: ${what}`, ok, detail);
  const server = serverOf(context);
  // Slots come due each minute, and wait for the failed hour.
  let waited: number[] = [];
  const deadline = Date.now() + 60_000 * (scenario.waitingSlots + 1) + 30_000;
  for (;;) {
    waited = await waitingFor(server, failed.slot);
    if (waited.length >= scenario.waitingSlots) break;
    if (Date.now() > deadline) throw new Error(`${name}: ${waited.length} slots of ${DOWNSTREAM} wait for ${failed.runId}, not ${scenario.waitingSlots}`);
    await sleep(1_000);
  }
  const { retryId, killedAt, refused } = await scenario.kill(server, failed.runId, waited);
  const restarted = await restartServer(context);
  // Any request wakes the schedulers: the waiting slots are looked at again a second after.
  await api(restarted, "/api/pipelines");
  const retry = await api(restarted, `/api/pipelines/${UPSTREAM}/runs/${retryId}`);
  const after = (at: number) => `${at - retry.endTime} ms after ${retryId} ended`;
  console.log(`${SCENARIO}: ${name}: ${waited.length} slot(s) waited for ${failed.runId}; killed ${after(killedAt)}${refused.length > 0 ? `, ${refused.length} slot(s) refused as busy` : ""}; restarted`);
  check("the upstream's retry stands succeeded after the restart", retry.status === "succeeded", `status ${retry.status}`);
  // Every slot that waited runs (one at a time, those refused as busy 15 s apart); none waits any more.
  const settleBy = Date.now() + 60_000 + 20_000 * waited.length;
  let runs: any[] = [];
  let still: number[] = [];
  while (Date.now() < settleBy) {
    runs = (await api(restarted, `/api/pipelines/${DOWNSTREAM}/history?limit=100`)).runs ?? [];
    still = await waitingFor(restarted, failed.slot);
    const ended = waited.every((slot) => runs.some((run) => run.scheduledFor === slot && run.status !== "running"));
    if (ended && still.length === 0) break;
    await sleep(500);
  }
  const local = (slot: number) => new Date(slot).toISOString().slice(11, 16);
  for (const slot of waited) {
    const of = runs.filter((run) => run.scheduledFor === slot);
    for (const run of of) {
      const when = run.startTime < killedAt ? `started before the kill (${after(run.startTime)})${run.resumes > 0 ? ", resumed after it" : run.endTime !== null && run.endTime < killedAt ? ", and ended before it" : ""}` : "started after the restart";
      console.log(`${SCENARIO}: ${name}: slot ${local(slot)}Z: ${run.pipelineId} (${run.trigger}) ${when}${refused.includes(slot) ? " (refused as busy at the kill)" : ""}`);
    }
  }
  const own = waited.map((slot) => ({ slot, runs: runs.filter((run) => run.scheduledFor === slot) }));
  check("each slot that waited ran exactly once", own.every((entry) => entry.runs.length === 1), own.map((entry) => `${local(entry.slot)}Z: ${entry.runs.map((run) => run.pipelineId).join(", ") || "no run"}`).join("; "));
  const ranRuns = own.flatMap((entry) => entry.runs);
  check("those runs succeeded, started by their upstream (or their clock)", ranRuns.length === waited.length && ranRuns.every((run) => run.status === "succeeded" && (run.trigger === "upstream" || run.trigger === "scheduled")), ranRuns.map((run) => `${run.pipelineId} ${run.trigger} ${run.status}`).join(", "));
  check(
    `each consumed the retry ${retryId}, for its hour, and started after it ended`,
    ranRuns.length === waited.length && ranRuns.every((run) => run.lineage.upstream.some((entry: any) => entry.runId === retryId && entry.scheduledFor === failed.slot) && retry.endTime !== null && retry.endTime <= run.startTime),
    ranRuns.map((run) => `${run.pipelineId}: ${run.lineage.upstream.map((entry: any) => entry.runId).join(", ")}`).join("; "),
  );
  check(`no slot waits for ${failed.runId} any more`, still.length === 0, still.map(local).join(", "));
  // No slot of the schedule ran twice, the waiting ones or any other (a slot missed while down is skipped).
  const bySlot = new Map<number, string[]>();
  for (const run of runs) if (run.scheduledFor !== null && run.status !== "skipped") bySlot.set(run.scheduledFor, [...(bySlot.get(run.scheduledFor) ?? []), run.pipelineId]);
  const twice = [...bySlot.values()].filter((ids) => ids.length > 1);
  check(`no slot of ${DOWNSTREAM} has two runs`, twice.length === 0, twice.map((ids) => ids.join(" + ")).join("; "));
  if (scenario.inTheWait) {
    // The deterministic kill: it must have found slots refused as busy, and those started only after the restart.
    const late = ranRuns.filter((run) => refused.includes(run.scheduledFor));
    // A run's end re-checks the held slots at once, so the window is one run long: a poll may miss it.
    if (refused.length > 0) check("the slots refused as busy at the kill started after the restart", late.length === refused.length && late.every((run) => run.startTime > killedAt), `${refused.length} refused, ${late.filter((run) => run.startTime > killedAt).length} started after the restart`);
    else console.log(`${SCENARIO}: ${name}: no poll caught a slot refused as busy (the pipeline was free again within one run); the kill landed after every slot started`);
  } else {
    const before = ranRuns.filter((run) => run.startTime < killedAt).length;
    console.log(`${SCENARIO}: ${name}: ${before > 0 ? `the downstream had heard: ${before} of ${waited.length} slot(s) started before the kill` : "the downstream had not started: every slot started after the restart"}`);
  }
}

/** The slots of orders-daily now waiting that wait, among others, for the orders slot `slot`. */
async function waitingFor(server: DevServer, slot: number): Promise<number[]> {
  const { waiting } = await api(server, `/api/pipelines/${DOWNSTREAM}`);
  return (waiting ?? []).filter((entry: any) => entry.waitingFor.some((upstream: any) => upstream.pipeline === UPSTREAM && upstream.slots.some((owed: any) => owed.scheduledFor === slot))).map((entry: any) => entry.scheduledFor);
}

/** orders-daily's slot ledger from `from` on. */
async function ledgerOf(server: DevServer, from: number): Promise<any[]> {
  const ledger = await api(server, `/api/pipelines/${DOWNSTREAM}/slots?from=${new Date(from).toISOString()}`);
  return ledger.slots ?? [];
}

/** Whether an upstream run has ended; throws if it ended other than succeeded. */
async function upstreamEnded(server: DevServer, runId: string): Promise<boolean> {
  const run = await api(server, `/api/pipelines/${UPSTREAM}/runs/${runId}`);
  if (run.status === "running") return false;
  if (run.status !== "succeeded") throw new Error(`the retry ${runId} ended ${run.status}: ${run.error}`);
  return true;
}

/**
 * Retries a failed upstream run (once the upstream is free: its own hourly slot may be running); answers
 * the retry's id, and with `wait` whether it had ended succeeded when the request answered.
 */
async function retryRun(server: DevServer, runId: string, { wait = false } = {}): Promise<{ retryId: string; ended: boolean }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await apiResponse(server, `/api/pipelines/${UPSTREAM}/runs/${runId}/retry${wait ? "?wait=true" : ""}`, { method: "POST" });
    const body = (await response.json()) as { pipelineId?: string; run?: { status: string; error: string | null }; errors?: { code: string }[] };
    if (response.status === 200 && body.pipelineId && body.run?.status !== "succeeded") throw new Error(`the retry ${body.pipelineId} ended ${body.run?.status}: ${body.run?.error}`);
    if ((response.status === 200 || response.status === 202) && body.pipelineId) return { retryId: body.pipelineId, ended: response.status === 200 };
    if (response.status !== 409 || body.errors?.[0]?.code !== "run_in_progress" || Date.now() > deadline) throw new Error(`the retry of ${runId} was refused: ${response.status} ${JSON.stringify(body)}`);
    await sleep(500);
  }
}

const DROPS = "store-drops";
const BUCKET = "scheduled-pipeline-uploads";
/** store-drops' debounce (its definition's triggers.objects). */
const DEBOUNCE_MS = 30_000;
const FILES = 150;
const ROWS = 20;

interface DropBatch {
  tag: string;
  name: string;
  keys: string[];
  runIds: string[];
}

/** Uploads a batch of files with their notifications, kills the server as `kill` says, restarts, and follows the object runs. */
async function killedAsObjectsAdmitted(context: FaultContext, tag: string, name: string, kill: (server: DevServer, lastSent: number) => Promise<void>): Promise<DropBatch> {
  const server = serverOf(context);
  const keys: string[] = [];
  let lastSent = 0;
  for (let file = 0; file < FILES; file += 1) {
    const lines = ["store_id,order_id,kind,amount,currency,original_order_id,ordered_at"];
    for (let row = 0; row < ROWS; row += 1) lines.push(`fault-${tag},${tag}-${file}-${row},sale,${10 + row}.50,EUR,,2026-11-${String(1 + (file % 28)).padStart(2, "0")}T10:00:00Z`);
    const body = `${lines.join("\n")}\n`;
    const uploaded = await apiResponse(server, `/api/pipelines/${DROPS}/uploads/fault/${tag}-${file}.csv`, { method: "PUT", headers: { "content-type": "text/csv", "content-length": String(Buffer.byteLength(body)) }, body });
    const stored = (await uploaded.json()) as { key?: string; etag?: string; size?: number };
    if (uploaded.status !== 201 || !stored.key) throw new Error(`upload refused: ${uploaded.status} ${JSON.stringify(stored)}`);
    const notification = { account: "local", action: "PutObject", bucket: BUCKET, object: { key: stored.key, size: stored.size, eTag: stored.etag }, eventTime: new Date().toISOString() };
    const sent = await apiResponse(server, "/api/notifications/r2", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(notification) });
    if (sent.status !== 202) throw new Error(`notification refused: ${sent.status} ${await sent.text()}`);
    keys.push(stored.key);
    lastSent = Date.now();
  }
  await kill(server, lastSent);
  const killedAt = Date.now();
  console.log(`${SCENARIO}: ${name}: ${FILES} files with their notifications, killed ${((killedAt - lastSent) / 1000).toFixed(1)} s after the last; restarting`);
  const restarted = await restartServer(context);
  await api(restarted, "/api/pipelines");
  const check = (what: string, ok: boolean, detail = "") => context.checks.check(SCENARIO, `${name}: ${what}`, ok, detail);
  // Every object is in an object run that ended (the intake's own alarms admit what was left).
  const deadline = Date.now() + 180_000;
  let runs: any[] = [];
  while (Date.now() < deadline) {
    runs = await objectRunsOf(restarted, tag);
    const covered = new Set(runs.flatMap((run) => run.lineage.objects.map((object: any) => object.key)));
    if (keys.every((key) => covered.has(key)) && runs.every((run) => run.status !== "running")) break;
    await sleep(500);
  }
  for (const run of runs) {
    const when = run.startTime < killedAt ? `started before the kill${run.resumes > 0 ? ", resumed after it" : run.endTime < killedAt ? ", and ended before it" : ""}` : "admitted after the restart";
    console.log(`${SCENARIO}: ${name}: ${run.pipelineId} ${when}`);
  }
  const listed = runs.flatMap((run) => run.lineage.objects.map((object: any) => object.key));
  check("every file is in the lineage of exactly one object run", listed.length === keys.length && new Set(listed).size === keys.length && keys.every((key) => listed.includes(key)), `${runs.length} runs list ${listed.length} objects for ${keys.length} files`);
  check("those runs succeeded", runs.length > 0 && runs.every((run) => run.status === "succeeded"), runs.map((run) => `${run.pipelineId} ${run.status} resumes ${run.resumes}`).join(", "));
  check("they loaded every row once", runs.reduce((sum, run) => sum + run.accounting.loaded, 0) === FILES * ROWS, runs.map((run) => `${run.pipelineId}: ${run.accounting.loaded}`).join(", "));
  return { tag, name, keys, runIds: runs.map((run) => run.pipelineId) };
}

/** The object runs of store-drops whose objects belong to the batch. */
async function objectRunsOf(server: DevServer, tag: string): Promise<any[]> {
  const { runs } = await api(server, `/api/pipelines/${DROPS}/history?limit=100`);
  return (runs ?? []).filter((run: any) => run.trigger === "object" && run.lineage.objects.some((object: any) => object.key.startsWith(`drops/fault/${tag}-`)));
}

/** With the server stopped: each file read once in the object ledger, each row once in the table. */
function checkDropsInD1(checks: Checks, persistTo: string, batches: readonly DropBatch[]): void {
  if (batches.length === 0) return;
  const results = queryLocalMany(
    persistTo,
    batches.flatMap((batch) => [
      `SELECT COUNT(*) AS rows, COUNT(DISTINCT order_id) AS distinct_orders, COUNT(DISTINCT run_id) AS runs FROM store_drops WHERE store_id = 'fault-${batch.tag}'`,
      `SELECT COUNT(*) AS entries, COUNT(DISTINCT object_key) AS objects, SUM(committed_run_id IS NULL) AS uncommitted FROM source_objects WHERE pipeline = '${DROPS}' AND object_key LIKE 'drops/fault/${batch.tag}-%'`,
    ]),
  );
  for (const [index, batch] of batches.entries()) {
    const rows = results[index * 2]?.[0] as { rows: number; distinct_orders: number; runs: number } | undefined;
    const ledger = results[index * 2 + 1]?.[0] as { entries: number; objects: number; uncommitted: number } | undefined;
    checks.check(SCENARIO, `${batch.name}: D1 holds each row once, from the object runs`, rows?.rows === FILES * ROWS && rows.distinct_orders === FILES * ROWS && rows.runs <= batch.runIds.length, JSON.stringify(rows));
    checks.check(SCENARIO, `${batch.name}: the object ledger has each file once, committed`, ledger?.entries === FILES && ledger.objects === FILES && ledger.uncommitted === 0, JSON.stringify(ledger));
  }
}

async function killedAfterUpstreamSuccess(context: FaultContext): Promise<void> {
  const name = "killed right after the upstream succeeded";
  const root = await cascadeBackfill(serverOf(context), "2026-11-20");
  // Polled as fast as the server answers: the kill lands within milliseconds of the upstream's success.
  await killWhen(context, async (server) => (await api(server, `/api/pipelines/${UPSTREAM}/backfills/${root}`)).endedAt !== null, 180_000);
  const killedAt = Date.now();
  console.log(`${SCENARIO}: ${name}: killed as the upstream's backfill ended; restarting`);
  const server = await restartServer(context);
  // Any request wakes the upstream's coordinator, which sends a notice a restart interrupted.
  await api(server, "/api/pipelines");
  const backfill = await expectCascadeRanOnce(context, name, root, "2026-11-21T02:30:00+01:00");
  if (backfill) console.log(`${SCENARIO}: ${name}: the downstream's backfill was started ${backfill.createdAt < killedAt ? "before the kill (the notice had gone out)" : "after the restart (the notice was sent again)"}`);
}

async function killedWhileDownstreamWaits(context: FaultContext): Promise<void> {
  const name = "killed while the downstream waits to start";
  const server = serverOf(context);
  // The downstream is kept busy first: a backfill of its own over 975 days, one run at a time.
  const busy = await apiResponse(server, `/api/pipelines/${DOWNSTREAM}/backfill`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ from: "2024-03-01", to: "2026-11-01" }) });
  const busyBackfill = (await busy.json()) as { backfillId?: string };
  context.checks.check(SCENARIO, `${name}: the downstream's own backfill started`, busy.status === 202 && busyBackfill.backfillId !== undefined, `status ${busy.status}`);
  const root = await cascadeBackfill(server, "2026-11-22");
  await killOnLog(context, (line) => line.includes('"event":"cascade_not_started"') && line.includes(root), 180_000);
  console.log(`${SCENARIO}: ${name}: killed while the cascade waited for ${DOWNSTREAM} to be free; restarting`);
  const restarted = await restartServer(context);
  await api(restarted, "/api/pipelines");
  // The downstream becomes free: its own backfill is cancelled (its current run finishes).
  await apiResponse(restarted, `/api/pipelines/${DOWNSTREAM}/backfills/${busyBackfill.backfillId}/cancel`, { method: "POST" });
  await expectCascadeRanOnce(context, name, root, "2026-11-23T02:30:00+01:00", 240_000);
}

/** Starts a cascading backfill of one day of the upstream; answers its id. */
async function cascadeBackfill(server: DevServer, day: string): Promise<string> {
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const response = await apiResponse(server, `/api/pipelines/${UPSTREAM}/backfill`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ from: day, to: next, cascade: true }) });
  const text = await response.text();
  let body: { backfillId?: string; toRun?: number; cascade?: { closure: string[] } };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`the backfill answered ${response.status} with no JSON: ${text.slice(0, 1_000)}`);
  }
  if (response.status !== 202 || !body.backfillId) throw new Error(`the cascading backfill was refused: ${response.status} ${JSON.stringify(body)}`);
  if (body.toRun !== 24 || body.cascade?.closure.join() !== `${UPSTREAM},${DOWNSTREAM}`) throw new Error(`unexpected backfill: ${JSON.stringify(body)}`);
  return body.backfillId;
}

/** Polls `done` (every few milliseconds) and SIGKILLs the server the moment it holds; answers that moment. */
async function killWhen(context: FaultContext, done: (server: DevServer) => Promise<boolean>, timeoutMs: number): Promise<number> {
  const server = serverOf(context);
  const deadline = Date.now() + timeoutMs;
  while (!(await done(server))) {
    if (Date.now() > deadline) throw new Error("the moment to kill at never came");
    await sleep(2);
  }
  const killedAt = Date.now();
  await killServer(context);
  return killedAt;
}

/** Watches the server's log (warnings and errors: the fault servers log at that level) and SIGKILLs it on the first line `matches` accepts; answers the dead server. */
async function killOnLog(context: FaultContext, matches: (line: string) => boolean, timeoutMs: number): Promise<DevServer | undefined> {
  const server = serverOf(context);
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  for (;;) {
    const text = server.log.join("");
    const lines = text.slice(seen).split("\n");
    if (lines.some(matches)) return killServer(context);
    seen = Math.max(seen, text.lastIndexOf("\n") + 1);
    if (Date.now() > deadline) throw new Error("the log line to kill on never came");
    await sleep(5);
  }
}

/** The cascade's backfill of the downstream ran its one slot, once, consuming the upstream's runs of the day. */
async function expectCascadeRanOnce(context: FaultContext, name: string, root: string, slotLocal: string, timeoutMs = 120_000): Promise<any> {
  const server = serverOf(context);
  const id = `${root}.${DOWNSTREAM}`;
  const deadline = Date.now() + timeoutMs;
  let backfill: any = null;
  while (Date.now() < deadline) {
    const response = await apiResponse(server, `/api/pipelines/${DOWNSTREAM}/backfills/${id}`);
    backfill = response.status === 200 ? await response.json() : null;
    if (backfill?.endedAt) break;
    await sleep(500);
  }
  const check = (what: string, ok: boolean, detail = "") => context.checks.check(SCENARIO, `${name}: ${what}`, ok, detail);
  check("the downstream's cascade backfill ended", Boolean(backfill?.endedAt), backfill ? `status ${backfill.status}` : "never started");
  if (!backfill?.endedAt) return null;
  const slots = backfill.slots.map((slot: any) => `${slot.scheduledForLocal} ${slot.status}`);
  check("it ran the one slot that consumed the day, and succeeded", backfill.status === "succeeded" && slots.join() === `${slotLocal} succeeded`, slots.join("; "));
  const listed = (await api(server, `/api/pipelines/${DOWNSTREAM}/backfills?limit=100`)).backfills.filter((entry: any) => entry.cascade?.root === root);
  check("one backfill for the cascade", listed.length === 1, `${listed.length}`);
  const history = (await api(server, `/api/pipelines/${DOWNSTREAM}/history?limit=100`)).runs.filter((run: any) => run.backfillId === id);
  check("exactly one run of the slot", history.length === 1, history.map((run: any) => `${run.pipelineId} ${run.status}`).join(", "));
  const run = history[0];
  if (!run) return backfill;
  const upstreamRuns = (await api(server, `/api/pipelines/${UPSTREAM}/history?limit=100`)).runs.filter((entry: any) => entry.backfillId === root);
  const consumed = new Set(run.lineage.upstream.map((entry: any) => entry.runId));
  check(
    "it consumed the upstream's 24 runs of the day, all ended before it started",
    consumed.size === 24 && upstreamRuns.length === 24 && upstreamRuns.every((entry: any) => consumed.has(entry.pipelineId) && entry.endTime <= run.startTime),
    `consumed ${consumed.size}, upstream runs ${upstreamRuns.length}`,
  );
  check("its lineage names the cascade", run.lineage.cascadeOf === root && run.trigger === "backfill", `cascadeOf ${run.lineage.cascadeOf}`);
  return backfill;
}
