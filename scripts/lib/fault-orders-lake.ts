import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { sleep, type DevServer } from "./wrangler-dev.ts";
import type { SourceServer } from "./source-server.ts";
import { api, apiResponse, killServer, localR2Objects, resumeAfterKill, seconds, serverOf, type FaultContext } from "./fault-kit.ts";

/**
 * orders-lake, killed while it writes Parquet: a large orders CSV from a local source, a run triggered,
 * `wrangler dev` SIGKILLed while load is committing the dataset's partitions (some manifests written, not
 * all), the server started again on the same state. The run must resume and succeed; every file the
 * dataset lists is downloaded through the API and read with DuckDB: each valid order exactly once, in its
 * day's folder; and the bucket must hold no Parquet file its manifests do not name.
 */

const SCENARIO = "orders-lake";
const PIPELINE = "orders-lake";
const DATASET = "lake/orders";
export const LAKE_SOURCE_PATH = "/orders-lake.csv";

/** The CSV the source serves and what the run must make of it, exactly. */
export interface LakeData {
  csv: Buffer;
  lines: number;
  valid: number;
  rejected: number;
  skipped: number;
  byDay: Map<string, number>;
  amountCents: number;
  netCents: number;
}

/**
 * Deterministic orders over the 30 days of November 2026 (an order at 00:xx+01:00 on the 1st is on 31
 * October in UTC, so its day is the day before). Some lines are bad on purpose: an amount with three
 * decimals and a refund naming no original order (rejected by transform), a `test` store's order
 * (skipped), a line repeated (the second rejected by load as a duplicate), a line with too few fields
 * (rejected by extract).
 */
export function lakeData(orders: number): LakeData {
  const rows: string[] = ["store_id,order_id,kind,amount,currency,original_order_id,ordered_at"];
  const byDay = new Map<string, number>();
  let valid = 0;
  let rejected = 0;
  let skipped = 0;
  let amountCents = 0;
  let netCents = 0;
  for (let i = 0; i < orders; i += 1) {
    const at = `2026-11-${String(1 + (i % 30)).padStart(2, "0")}T${String((i * 7) % 24).padStart(2, "0")}:${String((i * 13) % 60).padStart(2, "0")}:00${i % 13 === 0 ? "+01:00" : "Z"}`;
    const store = `store-${i % 12}`;
    const id = `L${String(i).padStart(6, "0")}`;
    const refund = i % 10 === 9;
    const cents = 100 + ((i * 7919) % 90_000);
    const amount = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
    const original = refund ? `L${String(i - 1).padStart(6, "0")}` : "";
    if (i % 997 === 5) {
      rows.push(`${store},${id},sale,1.234,EUR,,${at}`);
      rejected += 1;
    } else if (i % 983 === 11) {
      rows.push(`${store},${id},refund,${amount},EUR,,${at}`);
      rejected += 1;
    } else if (i % 991 === 7) {
      rows.push(`test,${id},sale,${amount},EUR,,${at}`);
      skipped += 1;
    } else {
      const line = `${store},${id},${refund ? "refund" : "sale"},${amount},EUR,${original},${at}`;
      rows.push(line);
      if (i % 1009 === 3) {
        rows.push(line); // the same order again, the same day: a duplicate key
        rejected += 1;
      }
      valid += 1;
      const day = new Date(at).toISOString().slice(0, 10);
      byDay.set(day, (byDay.get(day) ?? 0) + 1);
      amountCents += cents;
      netCents += refund ? -cents : cents;
    }
    if (i % 40_000 === 123) {
      rows.push(`${store},broken-${i}`);
      rejected += 1;
    }
  }
  return { csv: Buffer.from(`${rows.join("\n")}\n`), lines: rows.length - 1, valid, rejected, skipped, byDay, amountCents, netCents };
}

/** Serves the scenario's CSV from the local source server (call before the server starts). */
export function serveLakeSource(source: SourceServer, data: LakeData, served: { count: number }): string {
  source.route(LAKE_SOURCE_PATH, async (response) => {
    served.count += 1;
    response.writeHead(200, { "content-type": "text/csv", "content-length": String(data.csv.byteLength) });
    response.end(data.csv);
  });
  return source.url.replace(/\/records$/, LAKE_SOURCE_PATH);
}

export async function ordersLakeScenario(context: FaultContext, data: LakeData, served: { count: number }): Promise<void> {
  const { checks } = context;
  const check = (name: string, ok: boolean, detail = "") => checks.check(SCENARIO, name, ok, detail);
  let server = serverOf(context);
  const partitions = data.byDay.size;
  const paused = await apiResponse(server, `/api/pipelines/${PIPELINE}/schedule/pause`, { method: "POST" });
  if (!paused.ok) throw new Error(`pausing ${PIPELINE}'s schedule answered ${paused.status}: ${await paused.text()}`);
  if (localR2Objects(context.persistTo, `${DATASET}/`, { beforeAnyWrite: true }).length > 0) throw new Error(`the bucket already holds objects under ${DATASET}/: this scenario needs a fresh dataset`);

  const servedBefore = served.count;
  const trigger = await api(server, `/api/pipelines/${PIPELINE}/trigger`, { method: "POST" });
  const runId: string = trigger.pipelineId;
  if (!runId || trigger.error) throw new Error(`trigger failed: ${JSON.stringify(trigger)}`);
  const triggeredAt = Date.now();

  // Locally one thread runs every agent and the Worker, and the API can go unanswered for many seconds
  // while load writes Parquet; so the kill is timed by the bucket itself, as miniflare keeps it on disk:
  // once load has committed a third of the partitions (their manifests), or a partition's file is there
  // before its manifest. The API is polled alongside, to fail early if the run ends first.
  let latest: any = null;
  let polling = false;
  let loadSeenAt: number | null = null;
  let killedAt = "";
  let killed: DevServer | undefined;
  const killAfter = Math.max(1, Math.floor(partitions / 3));
  const deadline = Date.now() + 240_000;
  while (!killedAt && Date.now() < deadline) {
    if (!polling) {
      polling = true;
      void api(server, `/api/pipelines/${PIPELINE}/runs/${runId}`)
        .then((run) => {
          latest = run;
          if (run.currentStage === "load" && loadSeenAt === null) loadSeenAt = Date.now();
        })
        .catch(() => undefined)
        .finally(() => (polling = false));
    }
    if (latest && latest.status !== "running") throw new Error(`run ${runId} ended (${latest.status}) before load could be interrupted: ${JSON.stringify(latest).slice(0, 1500)}`);
    let manifests = 0;
    let files = 0;
    try {
      const objects = localR2Objects(context.persistTo, `${DATASET}/`, { beforeAnyWrite: true });
      manifests = objects.filter((object) => object.key.endsWith("/_manifest.json")).length;
      files = objects.filter((object) => object.key.endsWith(".parquet")).length;
    } catch {
      // the bucket's store is busy: look again
    }
    if (manifests >= partitions) throw new Error(`load of ${runId} committed all ${partitions} partitions before it could be interrupted`);
    // A third of the partitions committed; or sooner, if a partition's file is seen before its manifest.
    const between = manifests > 0 && files > manifests;
    if (manifests >= killAfter || between) {
      killedAt =
        `load, ${manifests} of ${partitions} partitions committed${between ? ` and a file written ahead of its manifest` : ""}, ${seconds(Date.now() - triggeredAt)} after the trigger` +
        (loadSeenAt ? `, ${seconds(Date.now() - loadSeenAt)} after the API first answered currentStage load` : "");
      killed = await killServer(context);
    } else {
      await sleep(30);
    }
  }
  if (!killedAt) throw new Error(`never saw load of ${runId} at work`);
  const atKill = localR2Objects(context.persistTo, `${DATASET}/`);
  const manifestsAtKill = atKill.filter((object) => object.key.endsWith("/_manifest.json")).length;
  console.log(`${SCENARIO}: killed wrangler dev during ${killedAt} (on disk: ${manifestsAtKill} manifests, ${atKill.filter((object) => object.key.endsWith(".parquet")).length} Parquet files); restarting`);
  check("the kill landed in load, part-way through its commits", manifestsAtKill > 0 && manifestsAtKill < partitions, `${manifestsAtKill} of ${partitions} partitions committed at the kill`);

  const resumed = await resumeAfterKill(context, killed, { name: SCENARIO, pipeline: PIPELINE, runId, timeoutMs: 300_000, check });
  server = resumed.server;
  const run = resumed.run;
  const load = run.stages?.find((stage: any) => stage.name === "load");
  const { accounting } = run;
  check("load was attempted again after the kill", (load?.attempts ?? 0) >= 2, `load attempts ${load?.attempts}`);
  check("the source was read", served.count > servedBefore, `${served.count - servedBefore} request(s) for the CSV`);
  check("accounting balances", accounting?.balanced === true, `${accounting?.extracted} = ${accounting?.loaded} + ${accounting?.rejected} + ${accounting?.skipped}`);
  check(
    "every line extracted, the valid orders loaded, the bad ones rejected or skipped",
    accounting?.extracted === data.lines && accounting?.loaded === data.valid && accounting?.rejected === data.rejected && accounting?.skipped === data.skipped,
    `extracted ${accounting?.extracted}/${data.lines}, loaded ${accounting?.loaded}/${data.valid}, rejected ${accounting?.rejected}/${data.rejected}, skipped ${accounting?.skipped}/${data.skipped}`,
  );

  // The dataset as its manifests name it, every file downloaded into its partition's folder.
  const dataset = await api(server, `/api/pipelines/${PIPELINE}/dataset`);
  const listed: { partition: string; key: string; rows: number; bytes: number }[] = (dataset.partitions ?? []).flatMap((partition: any) =>
    partition.files.map((file: any) => ({ partition: partition.name, key: file.key, rows: file.rows, bytes: file.bytes })),
  );
  const expectedNames = [...data.byDay.keys()].sort().map((day) => `order_day=${day}`);
  const names = (dataset.partitions ?? []).map((partition: any) => partition.name);
  check("the dataset lists one partition per order day", JSON.stringify(names) === JSON.stringify(expectedNames), `${names.length} partitions, expected ${expectedNames.length}`);
  const wrongRows = (dataset.partitions ?? []).filter((partition: any) => partition.rows !== data.byDay.get(String(partition.name).replace("order_day=", "")));
  check("each partition's manifest counts its day's orders", wrongRows.length === 0, wrongRows.length === 0 ? `${listed.length} files` : `wrong: ${wrongRows.map((partition: any) => `${partition.name} ${partition.rows}`).join(", ")}`);
  const committers = [...new Set((dataset.partitions ?? []).map((partition: any) => String(partition.runId)))];
  check("every partition was committed by the run", committers.length === 1 && committers[0] === runId, `manifests written by ${committers.join(", ")}`);

  const folder = mkdtempSync(join(tmpdir(), "pipeline-lake-"));
  try {
    const downloadStarted = Date.now();
    let downloadProblems = 0;
    for (const file of listed) {
      const response = await apiResponse(server, `/api/pipelines/${PIPELINE}/dataset/files/${encodeURI(file.key)}`);
      const body = Buffer.from(await response.arrayBuffer());
      if (response.status !== 200 || body.byteLength !== file.bytes || !file.key.startsWith(`${DATASET}/${file.partition}/`)) {
        downloadProblems += 1;
        console.log(`${SCENARIO}: ${file.key} answered ${response.status} with ${body.byteLength} bytes (listed: ${file.bytes}, partition ${file.partition})`);
        continue;
      }
      const path = join(folder, file.key.slice(DATASET.length + 1));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, body);
    }
    check("every listed file downloads whole, under its partition's folder", downloadProblems === 0, `${listed.length - downloadProblems} of ${listed.length} files in ${seconds(Date.now() - downloadStarted)}`);

    const duck = await DuckDBInstance.create(":memory:");
    const connection = await duck.connect();
    try {
      const files = `read_parquet('${join(folder, "*", "*.parquet")}', hive_partitioning = false, filename = true)`;
      const query = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();
      const [summary] = await query(
        `SELECT COUNT(*) AS total, COUNT(DISTINCT store_id || '/' || order_id) AS keys, ` +
          `COUNT(*) FILTER (WHERE order_day IS DISTINCT FROM regexp_extract(filename, 'order_day=([^/]+)/', 1)) AS misfiled, ` +
          `COUNT(*) FILTER (WHERE epoch_ms(ordered_at) // 86400000 <> date_diff('day', DATE '1970-01-01', CAST(order_day AS DATE))) AS wrong_day, ` +
          `COUNT(*) FILTER (WHERE run_id <> '${runId}') AS other_runs, SUM(amount_cents) AS amount, SUM(net_cents) AS net FROM ${files}`,
      );
      const n = (value: unknown) => Number(value ?? NaN);
      check(
        "DuckDB reads each valid order exactly once",
        n(summary?.total) === data.valid && n(summary?.keys) === data.valid,
        `COUNT(*) ${n(summary?.total)}, distinct store_id/order_id ${n(summary?.keys)}, expected ${data.valid}`,
      );
      check("every row's order_day is its folder's, and its ordered_at's UTC day", n(summary?.misfiled) === 0 && n(summary?.wrong_day) === 0, `${n(summary?.misfiled)} in another day's folder, ${n(summary?.wrong_day)} with another ordered_at day`);
      check("every row was written by that run", n(summary?.other_runs) === 0, `${n(summary?.other_runs)} rows of other runs`);
      check(
        "the money adds up to what the source sent",
        n(summary?.amount) === data.amountCents && n(summary?.net) === data.netCents,
        `amount_cents ${n(summary?.amount)}/${data.amountCents}, net_cents ${n(summary?.net)}/${data.netCents}`,
      );
    } finally {
      connection.closeSync();
      duck.closeSync();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }

  // Once the server is stopped: the bucket itself, against what the manifests name.
  context.afterStop.push(() => {
    const objects = localR2Objects(context.persistTo, `${DATASET}/`);
    const named = new Set(listed.map((file) => file.key));
    const parquet = objects.filter((object) => object.key.endsWith(".parquet"));
    const unnamed = parquet.filter((object) => !named.has(object.key));
    const missing = [...named].filter((key) => !parquet.some((object) => object.key === key));
    const manifests = objects.filter((object) => object.key.endsWith("/_manifest.json"));
    const other = objects.filter((object) => !object.key.endsWith(".parquet") && !object.key.endsWith("/_manifest.json"));
    check(
      "the bucket holds exactly the files the manifests name, and one manifest per partition",
      unnamed.length === 0 && missing.length === 0 && manifests.length === partitions && other.length === 0,
      `${parquet.length} Parquet files in the bucket, ${named.size} named; ${unnamed.length} unnamed${unnamed.length ? ` (${unnamed.slice(0, 3).map((object) => object.key).join(", ")}…)` : ""}, ${missing.length} missing, ${manifests.length} manifests, ${other.length} other objects`,
    );
  });
}
