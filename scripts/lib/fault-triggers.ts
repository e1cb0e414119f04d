import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateLocal, queryLocalMany, sleep, stopDev, type DevServer } from "./wrangler-dev.ts";
import { api, apiResponse, API_TOKEN, Checks, killServer, restartServer, serverOf, type FaultContext } from "./fault-kit.ts";

/**
 * Data-aware triggers under faults, on a server of their own (the shipped pipelines on their built-in
 * sample data): `orders` backfilled with `cascade: true`, so that `orders-daily` must backfill the slot that
 * consumed that day, once.
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
  const context: FaultContext = { persistTo, vars: { ALLOW_UNAUTHENTICATED: "false", API_TOKEN, LOCAL_R2_NOTIFICATIONS: "true" }, server: undefined, checks, afterStop: [] };
  const batches: DropBatch[] = [];
  try {
    migrateLocal(persistTo);
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
  }
  try {
    checkDropsInD1(checks, persistTo, batches);
  } finally {
    rmSync(persistTo, { recursive: true, force: true });
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

/** Polls `done` (every few milliseconds) and SIGKILLs the server the moment it holds. */
async function killWhen(context: FaultContext, done: (server: DevServer) => Promise<boolean>, timeoutMs: number): Promise<void> {
  const server = serverOf(context);
  const deadline = Date.now() + timeoutMs;
  while (!(await done(server))) {
    if (Date.now() > deadline) throw new Error("the moment to kill at never came");
    await sleep(2);
  }
  await killServer(context);
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
