/**
 * npm run bench: the service measured next to its floors, in the same run, on the same machine. A floor is
 * the platform at its best (bench/bench-worker.ts): the plainest code doing the same storage work.
 *
 * 1. The seed's four-record run, 50 times (POST /api/pipeline/trigger?wait=true), against the hop floor:
 *    Worker → agent → three fresh agents, each one SQLite write and an R2 hand-over, one D1 insert.
 * 2. Volume: synthetic records from a local source, end to end, for the default pipeline (NDJSON, JSON,
 *    CSV) and for orders (CSV), against two floors: the job a user would write instead (one Worker request
 *    that fetches, parses, checks and upserts the same source's rows, bench/one-request-job.ts), and for
 *    the load stage the literal multi-row upsert of the same rows into a copy of the destination with only
 *    its own columns, at the best rows a statement and statements a batch of a sweep in the same run. Peak
 *    RSS of workerd for all three, and per stage. Then the default pipeline at several chunk sizes: what a
 *    stage holds follows the chunk, not the run.
 * 3. Reads under load (autocannon, 50 connections): /last, /history, /runs/:id against one agent answering
 *    from its SQLite; GET /api/pipelines (eight pipelines declared) against /api/health.
 * 4. Parquet: a million orders-shaped CSV lines over 30 days end to end into the r2-parquet destination
 *    (a bench copy of orders-lake), against the same rows written by hyparquet-writer straight to R2 in
 *    one Durable Object, one file per day partition; the live heap per stage at two run sizes.
 * 5. store-drops over 1,000 CSV files in R2 (a bench copy reading bench-drops/), against listing, reading
 *    and plainly upserting the same files' rows in one Worker request; the live heap per stage for the
 *    1,000 files and for one object holding the same rows.
 * 6. PostgreSQL: a million orders-shaped CSV lines end to end through a bench copy of orders-to-postgres
 *    into `public.orders` of a throwaway cluster (scripts/lib/postgres-cluster.ts) through the Worker's
 *    HYPERDRIVE binding, against upserts of the same rows from Node with the same driver (pg), one
 *    transaction per 20,000 rows, into a fresh copy of the table: multi-row `INSERT … VALUES` and
 *    `INSERT … SELECT FROM unnest(…)`, each at several rows a statement (writes timed only); the fastest of
 *    them all is the floor. Needs PostgreSQL's programs (installed from Debian's packages when root).
 * 7. Overlap: the default pipeline on a paced source (a rate-limited API's pace), stage by stage and with
 *    the transform following extract, against the one-request job on the same source: end to end over the
 *    slowest stage.
 *
 * Every scenario gets a fresh `wrangler dev` with fresh local state. Writes bench/results.json and the
 * results table in docs/benchmark.md; a partial run (BENCH_ONLY, BENCH_CASES) merges its sections into
 * the previous results and renders every section again from them. Everything it starts is stopped by the
 * PID it started.
 */
import autocannon from "autocannon";
import { parse } from "jsonc-parser";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { startSyntheticSource, type SyntheticSource } from "./lib/synthetic-source.ts";
import { sampleHeap, type HeapSample } from "./lib/heap-sampler.ts";
import { dropFileRows } from "../bench/synthetic.ts";
import { planCluster, startCluster } from "./lib/postgres-cluster.ts";
import { migrateLocal, sleep, startDev, stopDev, workerdRssKiB, type DevServer } from "./lib/wrangler-dev.ts";

const ROOT = resolve(import.meta.dirname, "..");
const BENCH_CONFIG = join(ROOT, ".bench-wrangler.jsonc");
const SEED_RUNS = Number(process.env.BENCH_SEED_RUNS ?? 50);
const API_SECONDS = Number(process.env.BENCH_API_SECONDS ?? 10);
const ONLY = process.env.BENCH_ONLY?.split(",");
/** Experiments: "default:1000000:ndjson,orders:100000:csv" runs just those volume cases; BENCH_CONFIG is merged into the pipeline's config. */
const CASES = process.env.BENCH_CASES?.split(",").map(parseCase);
const EXTRA_CONFIG = JSON.parse(process.env.BENCH_CONFIG ?? "{}") as Record<string, unknown>;
/** Statements a batch the literal upsert is tried with (at its best rows a statement). */
const BATCH_SIZES = (process.env.BENCH_BATCH_SIZES ?? "25,50,100,200,400,800").split(",").map(Number);
/** The literal upsert's rows a statement tried (D1 refuses a statement over 100 KB: 400 orders rows are about 45 KB). */
const ROWS_PER_STATEMENT = (process.env.BENCH_ROWS_PER_STATEMENT ?? "25,50,100,200,400").split(",").map(Number);
/** Statements a batch while rows a statement are swept. */
const SWEEP_STATEMENTS = 100;
/** Pause before each four-record run, ours and the floor's, so each starts on a quiet machine. */
const SETTLE_MS = 600;
const CHUNK_SIZES = (process.env.BENCH_CHUNK_SIZES ?? "5000,20000").split(",").map(Number);
/** The Parquet scenario: lines in the timed run, the days they span, the run sizes whose live heap is sampled. */
const PARQUET_RECORDS = Number(process.env.BENCH_PARQUET_RECORDS ?? 1_000_000);
const PARQUET_DAYS = Number(process.env.BENCH_PARQUET_DAYS ?? 30);
const PARQUET_MEMORY_SIZES = (process.env.BENCH_PARQUET_MEMORY ?? "200000,1000000").split(",").map(Number);
/** The r2-parquet destination's default rows per file (orders-lake sets none): the floor splits files the same way. */
const PARQUET_ROWS_PER_FILE = 100_000;
/** The store-drops scenario: how many files, and the range of their sizes in rows ("100-1000"). */
const DROPS_FILES = Number(process.env.BENCH_DROPS_FILES ?? 1_000);
const [DROPS_MIN_ROWS, DROPS_MAX_ROWS] = (process.env.BENCH_DROPS_ROWS ?? "100-1000").split("-").map(Number) as [number, number];
/** The PostgreSQL scenario: lines in the run, the floor's rows per statement tried, the unnest variant's rows per statement. */
const PG_RECORDS = Number(process.env.BENCH_PG_RECORDS ?? 1_000_000);
const PG_ROWS_PER_STATEMENT = (process.env.BENCH_PG_ROWS_PER_STATEMENT ?? "250,500,1000,2000").split(",").map(Number);
const PG_UNNEST_ROWS = (process.env.BENCH_PG_UNNEST ?? "1000,5000,20000").split(",").filter(Boolean).map(Number);
/** The postgres destination's default chunk (chunkRecords, one transaction each): the floor commits as often. */
const PG_ROWS_PER_TRANSACTION = 20_000;
/** Sections that carry their own date and machine: a run of only these leaves the page's date to the run that measured the rest. */
const SELF_DATED = ["postgres"];
/** The overlap scenario: records of `default`, and the rate its source serves them at. */
const OVERLAP_RECORDS = Number(process.env.BENCH_OVERLAP_RECORDS ?? 300_000);
const OVERLAP_RATE = Number(process.env.BENCH_OVERLAP_RATE ?? 40_000);

type Format = "json" | "ndjson" | "csv";
type PipelineName = "default" | "orders";
interface VolumeCase {
  pipeline: PipelineName;
  records: number;
  format: Format;
  /** Records a second the source serves at (a rate-limited API); none: as fast as it is read. */
  rate?: number;
}

function parseCase(text: string): VolumeCase {
  const [pipeline, records, format] = text.split(":");
  return { pipeline: pipeline as PipelineName, records: Number(records), format: (format ?? "ndjson") as Format };
}

const DEFAULT_CASES: VolumeCase[] = [
  { pipeline: "default", records: 100_000, format: "ndjson" },
  { pipeline: "default", records: 100_000, format: "json" },
  { pipeline: "default", records: 100_000, format: "csv" },
  { pipeline: "default", records: 1_000_000, format: "ndjson" },
  // Ten times the million: time should grow ten times, and what each stage holds not at all.
  { pipeline: "default", records: 10_000_000, format: "ndjson" },
  { pipeline: "orders", records: 100_000, format: "csv" },
  { pipeline: "orders", records: 1_000_000, format: "csv" },
];

/** The real configuration, pointed at the benchmark Worker, with the floor agents added. */
function writeBenchConfig(): void {
  const config = parse(readFileSync(join(ROOT, "wrangler.jsonc"), "utf8"));
  config.main = "bench/bench-worker.ts";
  delete config.triggers;
  const floors = ["FloorCoordinator", "FloorStage", "FloorReader", "FloorLake"];
  config.durable_objects.bindings.push(...floors.map((name) => ({ name, class_name: name })));
  config.migrations.push({ tag: "bench-floor", new_sqlite_classes: floors });
  writeFileSync(BENCH_CONFIG, JSON.stringify(config, null, 2));
}

interface Sample {
  at: number;
  kib: number;
}

interface Measured<T> {
  result: T;
  peakRssMiB: number;
  /** RSS of the fresh server before the work. */
  idleRssMiB: number;
  samples: Sample[];
}

/** Runs `work` against a fresh server and reports its result and the RSS of workerd meanwhile. */
async function withServer<T>(vars: Record<string, string>, work: (server: DevServer) => Promise<T>, env?: Record<string, string>): Promise<Measured<T>> {
  const persistTo = mkdtempSync(join(tmpdir(), "pipeline-bench-"));
  migrateLocal(persistTo, BENCH_CONFIG);
  const server = await startDevRetrying({ persistTo, config: BENCH_CONFIG, vars: { ALLOW_UNAUTHENTICATED: "true", ...vars }, ...(env ? { env } : {}) });
  const idle = workerdRssKiB(server);
  const samples: Sample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push({ at: Date.now(), kib: workerdRssKiB(server) });
      await sleep(100);
    }
  })();
  try {
    const result = await work(server);
    return { result, peakRssMiB: mib(Math.max(idle, ...samples.map((sample) => sample.kib))), idleRssMiB: mib(idle), samples };
  } finally {
    sampling = false;
    await sampler;
    await stopDev(server);
    rmSync(persistTo, { recursive: true, force: true });
  }
}

/** Starts wrangler dev; a port taken between choosing it and binding it (other work on the machine) gets one more try. */
async function startDevRetrying(options: Parameters<typeof startDev>[0]): Promise<DevServer> {
  try {
    return await startDev(options);
  } catch (error) {
    if (!String(error).includes("Address already in use")) throw error;
    console.warn("port taken, starting wrangler dev again");
    return startDev(options);
  }
}

const mib = (kib: number) => Math.round(kib / 1024);
const round = (value: number, places = 2) => Math.round(value * 10 ** places) / 10 ** places;

async function post(server: DevServer, path: string, body?: string): Promise<any> {
  const response = await fetch(`${server.url}${path}`, { method: "POST", ...(body ? { body, headers: { "content-type": "application/json" } } : {}) });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!, 1);
}

// 1. The seed's four-record run against the hop floor, interleaved so both see the same machine.
async function seedScenario() {
  return withServer({}, async (server) => {
    for (let warm = 0; warm < 5; warm += 1) {
      await post(server, "/api/pipeline/trigger?wait=true");
      await post(server, "/bench/floor-run");
    }
    const pipeline: number[] = [];
    const floor: number[] = [];
    const serverSide: number[] = [];
    // Each run starts on a quiet machine: the run's cleanup after it answers (stage agents destroyed, staged
    // objects deleted) would otherwise land on the next measurement, which is the floor's.
    for (let index = 0; index < SEED_RUNS; index += 1) {
      let body: any;
      await sleep(SETTLE_MS);
      pipeline.push(await timed(async () => (body = await post(server, "/api/pipeline/trigger?wait=true"))));
      if (body.run.status !== "succeeded") throw new Error(`seed run failed: ${JSON.stringify(body.run)}`);
      serverSide.push(body.run.totalDuration);
      await sleep(SETTLE_MS);
      floor.push(await timed(() => post(server, "/bench/floor-run")));
    }
    return {
      runs: SEED_RUNS,
      pipeline: { p50: percentile(pipeline, 50), p95: percentile(pipeline, 95) },
      floor: { p50: percentile(floor, 50), p95: percentile(floor, 95) },
      serverSideRun: { p50: percentile(serverSide, 50) },
    };
  });
}

// 2. Volume: the pipeline end to end, per stage.
function sourceUrl(source: SyntheticSource, { pipeline, records, format, rate }: VolumeCase): string {
  return `${source.base}/records?n=${records}&format=${format}${pipeline === "orders" ? "&shape=orders" : ""}${rate ? `&rate=${rate}` : ""}`;
}

async function pipelineScenario(source: SyntheticSource, volume: VolumeCase, extra: Record<string, unknown> = {}, heap = false) {
  const config = {
    sources: [{ type: "http", url: sourceUrl(source, volume), format: volume.format, timeoutMs: 300_000 }],
    ...(volume.pipeline === "default" && volume.format === "csv" ? { fields: { type: "type" } } : {}),
    ...PATIENT,
    ...EXTRA_CONFIG,
    ...extra,
  };
  const variable = volume.pipeline === "orders" ? "ORDERS_CONFIG" : "PIPELINE_CONFIG";
  const base = volume.pipeline === "orders" ? "/api/pipelines/orders" : "/api/pipeline";
  const measured = await withServer({ [variable]: JSON.stringify(config) }, (server) => runAndWait(server, base, volume.records, heap));
  return runFigures(measured, heap);
}

/** Timeouts a long local run needs (a stage of a million records takes longer than the defaults allow). */
const PATIENT = { timeouts: { stageMs: 3_600_000 }, recovery: { stallTimeoutMs: 600_000 } };

interface RunOutcome {
  run: any;
  loaded: number;
  heap: HeapSample[];
}

/**
 * Triggers a run of the pipeline under `base` and polls it until it ends; it must succeed and account for
 * `records` extracted. With `heap`, the isolate's live heap is sampled meanwhile (three idle samples first).
 */
async function runAndWait(server: DevServer, base: string, records: number, heap: boolean): Promise<RunOutcome> {
  const sampler = heap ? await sampleHeap(server, 100) : null;
  while (sampler && sampler.samples.length < 3) await sleep(50); // the idle heap, before the run
  const trigger = await post(server, `${base}/trigger`);
  let run: any;
  do {
    await sleep(250);
    run = await (await fetch(`${server.url}${base}/runs/${trigger.pipelineId}`)).json();
  } while (run.status === "running");
  const books = run.accounting;
  await sampler?.stop();
  if (run.status !== "succeeded" || !books.balanced || books.extracted !== records) throw new Error(`run did not account for ${records}: ${JSON.stringify(run).slice(0, 800)}`);
  return { run, loaded: books.loaded, heap: sampler?.samples ?? [] };
}

/** Time, RSS and (when sampled) live heap of a run, per stage. */
function runFigures(measured: Measured<RunOutcome>, heap: boolean) {
  const { run, loaded, heap: heapSamples } = measured.result;
  const idleHeap = heapSamples[2]?.usedBytes ?? 0;
  const stages = Object.fromEntries(
    run.stages.map((stage: any) => {
      // A stage that followed the one before it (aheadMs) worked from before its turn: its window starts there.
      const from = stage.startTime - (stage.aheadMs ?? 0);
      const during = measured.samples.filter((sample) => sample.at >= from && sample.at <= stage.endTime);
      const heapDuring = heapSamples.filter((sample) => sample.at >= from && sample.at <= stage.endTime);
      const heldMiB = heapDuring.length === 0 ? null : round((Math.max(...heapDuring.map((sample) => sample.usedBytes)) - idleHeap) / 2 ** 20, 1);
      return [stage.name, { seconds: round(stage.durationMs / 1000), ...(stage.aheadMs ? { aheadSeconds: round(stage.aheadMs / 1000) } : {}), peakRssMiB: mib(Math.max(0, ...during.map((sample) => sample.kib))), ...(heap ? { heldMiB } : {}) }];
    }),
  );
  return { seconds: round(run.totalDuration / 1000), loaded, stages, peakRssMiB: measured.peakRssMiB, idleRssMiB: measured.idleRssMiB, idleHeapMiB: round(idleHeap / 2 ** 20, 1), run };
}

/**
 * The literal upsert's sizes, in one server: rows a statement at a middling batch, then statements a batch
 * at the best of those rows. The fastest pair is the floor's.
 */
async function literalSweep(pipeline: PipelineName, records: number) {
  const measured = await withServer({}, async (server) => {
    const tried: { rows: number; statements: number; seconds: number }[] = [];
    const attempt = async (rows: number, statements: number) => {
      const result = await post(server, `/bench/literal-upsert?pipeline=${pipeline}&n=${records}&rows=${rows}&statements=${statements}`);
      tried.push({ rows, statements, seconds: round(result.ms / 1000) });
      console.log("sweep", pipeline, rows, statements, result.ms);
    };
    for (const rows of ROWS_PER_STATEMENT) await attempt(rows, SWEEP_STATEMENTS);
    const rows = tried.reduce((a, b) => (b.seconds < a.seconds ? b : a)).rows;
    for (const statements of BATCH_SIZES) if (statements !== SWEEP_STATEMENTS) await attempt(rows, statements);
    return tried;
  });
  const best = measured.result.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  return { sweptAt: records, tried: measured.result, best: { rows: best.rows, statements: best.statements } };
}

type WriteSizes = { rows: number; statements: number };
const sizesQuery = ({ rows, statements }: WriteSizes) => `rows=${rows}&statements=${statements}`;

async function literalFloor(pipeline: PipelineName, records: number, sizes: WriteSizes) {
  const measured = await withServer({}, async (server) => post(server, `/bench/literal-upsert?pipeline=${pipeline}&n=${records}&${sizesQuery(sizes)}`));
  return { seconds: round(measured.result.ms / 1000), peakRssMiB: measured.peakRssMiB, idleRssMiB: measured.idleRssMiB };
}

/** The one-request job on the same source; it must read every record and write every row. */
async function oneRequestJob(source: SyntheticSource, volume: VolumeCase, sizes: WriteSizes) {
  const url = encodeURIComponent(sourceUrl(source, volume));
  const measured = await withServer({}, async (server) => post(server, `/bench/job?pipeline=${volume.pipeline}&format=${volume.format}&url=${url}&${sizesQuery(sizes)}`));
  const job = measured.result;
  if (job.read !== volume.records || job.written !== volume.records || job.checks?.blocked) throw new Error(`the one-request job did not write all ${volume.records}: ${JSON.stringify(job)}`);
  return { seconds: round(job.ms / 1000), peakRssMiB: measured.peakRssMiB, idleRssMiB: measured.idleRssMiB, result: job };
}

/**
 * Stages that overlap, where the machine has time to spare: the source is paced (OVERLAP_RATE records a
 * second, as a rate-limited API serves them), so extract waits on it, and a transform that follows extract
 * works in those waits (and a load that follows transform writes its rows aside in them). Stage by stage (`overlap: false`) and as shipped, each on a fresh server, and the
 * one-request job on the same paced source with the fastest D1 write.
 */
async function overlapScenario(source: SyntheticSource, results: any): Promise<void> {
  const volume: VolumeCase = { pipeline: "default", records: OVERLAP_RECORDS, format: "ndjson", rate: OVERLAP_RATE };
  const swept = results.literalUpsert?.default?.best ?? readPrevious().literalUpsert?.default?.best;
  const sizes: WriteSizes = swept ?? (await literalSweep("default", 100_000)).best;
  const job = await oneRequestJob(source, volume, sizes);
  console.log("overlap job", JSON.stringify(job));
  const modes = [];
  for (const overlap of [false, true]) {
    const ours = await pipelineScenario(source, volume, { overlap });
    // A stage's own time is its turn and what it worked ahead of it; the slowest of them bounds the run.
    const worked = Object.values(ours.stages).map((stage: any) => stage.seconds + (stage.aheadSeconds ?? 0));
    const slowest = round(Math.max(...worked));
    modes.push({ overlap, seconds: ours.seconds, stages: ours.stages, slowestStageSeconds: slowest, ratioToSlowest: round(ours.seconds / slowest), ratioToJob: round(job.seconds / ours.seconds), peakRssMiB: ours.peakRssMiB });
    console.log("overlap", overlap, JSON.stringify(modes.at(-1)));
  }
  results.overlap = { records: volume.records, rate: volume.rate, sourceSeconds: round(volume.records / OVERLAP_RATE), jobSeconds: job.seconds, jobPeakRssMiB: job.peakRssMiB, writeSizes: sizes, modes };
}

// 3. Reads under load.
async function apiScenario() {
  return withServer({}, async (server) => {
    for (let index = 0; index < 25; index += 1) await post(server, "/api/pipeline/trigger?wait=true");
    const last = await (await fetch(`${server.url}/api/pipeline/last`)).text();
    const runId = JSON.parse(last).pipelineId as string;
    await fetch(`${server.url}/bench/read-floor`, { method: "PUT", body: last });
    const paths = ["/bench/read-floor", "/api/pipeline/last", "/api/pipeline/history", `/api/pipeline/runs/${runId}`, "/api/health", "/api/pipelines"];
    for (const path of paths) await autocannon({ url: `${server.url}${path}`, connections: 50, duration: 1 }); // warm-up
    // Two rounds, averaged: a route and its floor see the same machine, whatever else it does meanwhile.
    const measured = new Map<string, { rps: number[]; p99: number[]; non2xx: number }>(paths.map((path) => [path, { rps: [], p99: [], non2xx: 0 }]));
    for (let round = 0; round < 2; round += 1) {
      for (const path of paths) {
        const result = await autocannon({ url: `${server.url}${path}`, connections: 50, duration: API_SECONDS });
        const entry = measured.get(path)!;
        entry.rps.push(result.requests.average);
        entry.p99.push(result.latency.p99);
        entry.non2xx += result.non2xx + result.errors;
        console.log("api", round, path, Math.round(result.requests.average));
      }
    }
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    return paths.map((path) => {
      const entry = measured.get(path)!;
      return { path, rps: Math.round(mean(entry.rps)), p99: Math.round(mean(entry.p99)), non2xx: entry.non2xx };
    });
  });
}

async function main(): Promise<void> {
  // BENCH_RENDER=1: no measuring, the page rendered again from bench/results.json (after a change to how it reads).
  if (process.env.BENCH_RENDER === "1") return updateResultsPage(renderTable(readPrevious()));
  writeBenchConfig();
  const source = await startSyntheticSource();
  const started = Date.now();
  const results: any = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  };
  try {
    if (!ONLY || ONLY.includes("seed")) {
      const seed = await seedScenario();
      results.seed = { ...seed.result, peakRssMiB: seed.peakRssMiB, ratioToFloor: round(seed.result.pipeline.p50 / seed.result.floor.p50) };
      console.log("seed", JSON.stringify(results.seed));
    }
    if (!ONLY || ONLY.includes("volume")) await volumeScenarios(source, results);
    if (!ONLY || ONLY.includes("memory")) await memoryScenario(source, results);
    if (!ONLY || ONLY.includes("parquet")) await parquetScenario(source, results);
    if (!ONLY || ONLY.includes("drops")) await dropsScenario(results);
    if (!ONLY || ONLY.includes("postgres")) await postgresScenario(source, results);
    if (!ONLY || ONLY.includes("overlap")) await overlapScenario(source, results);
    if (!ONLY || ONLY.includes("api")) {
      const api = await apiScenario();
      const rps = (path: string) => api.result.find((row) => row.path === path)!.rps;
      const floorOf = (path: string) => (path === "/api/pipelines" ? "/api/health" : path.startsWith("/api/pipeline/") ? "/bench/read-floor" : null);
      results.api = api.result.map((row) => {
        const floor = floorOf(row.path);
        return { ...row, floor, ratioToFloor: floor ? round(row.rps / rps(floor)) : null };
      });
      console.log("api", JSON.stringify(results.api));
    }
  } finally {
    await source.close();
    rmSync(BENCH_CONFIG, { force: true });
  }
  results.durationSeconds = Math.round((Date.now() - started) / 1000);
  const previous = readPrevious();
  const merged = ONLY || CASES ? { ...previous, ...results } : results;
  // The page's first line dates and places the run that measured the other sections: a run of only
  // self-dated sections (each says when and where it was measured) keeps it.
  if (ONLY && !CASES && ONLY.every((name) => SELF_DATED.includes(name)) && previous.date) {
    for (const key of ["date", "machine", "durationSeconds"]) merged[key] = previous[key];
  }
  writeFileSync(join(ROOT, "bench/results.json"), `${JSON.stringify(merged, null, 2)}\n`);
  const table = renderTable(merged);
  console.log(`\n${table}`);
  updateResultsPage(table);
}

async function volumeScenarios(source: SyntheticSource, results: any): Promise<void> {
  const cases = CASES ?? DEFAULT_CASES;
  // The literal upsert's best sizes, per pipeline, found on the smallest run it has.
  results.literalUpsert = {};
  for (const pipeline of new Set(cases.map((entry) => entry.pipeline))) {
    const records = Math.min(...cases.filter((entry) => entry.pipeline === pipeline).map((entry) => entry.records));
    results.literalUpsert[pipeline] = { ...(await literalSweep(pipeline, records)), floors: {} };
  }
  for (const key of new Set(cases.map((entry) => `${entry.pipeline}:${entry.records}`))) {
    const [pipeline, records] = key.split(":") as [PipelineName, string];
    const floor = await literalFloor(pipeline, Number(records), results.literalUpsert[pipeline].best);
    results.literalUpsert[pipeline].floors[records] = floor;
    console.log("floor", key, JSON.stringify(floor));
  }
  results.volume = [];
  for (const volume of cases) {
    const sizes = results.literalUpsert[volume.pipeline].best as WriteSizes;
    const job = await oneRequestJob(source, volume, sizes);
    console.log("job", JSON.stringify(volume), JSON.stringify(job));
    const ours = await pipelineScenario(source, volume);
    const floor = results.literalUpsert[volume.pipeline].floors[volume.records];
    const row = {
      ...volume,
      seconds: ours.seconds,
      recordsPerSecond: Math.round(volume.records / ours.seconds),
      stages: ours.stages,
      jobSeconds: job.seconds,
      ratioToJob: round(job.seconds / ours.seconds),
      floorSeconds: floor.seconds,
      floorSizes: sizes,
      // A load that followed transform wrote its rows aside beside the other stages; its turn is only the
      // publish, which is not the floor's work: no ratio (see followedLoad).
      loadRatioToFloor: ours.stages.load.aheadSeconds ? null : round(floor.seconds / ours.stages.load.seconds),
      peakRssMiB: ours.peakRssMiB,
      idleRssMiB: ours.idleRssMiB,
      jobPeakRssMiB: job.peakRssMiB,
      floorPeakRssMiB: floor.peakRssMiB,
      rssRatio: round(ours.peakRssMiB / job.peakRssMiB),
    };
    results.volume.push(row);
    console.log("volume", JSON.stringify(row));
  }
}

/**
 * What each stage holds: the isolate's live heap during the stage (after a full collection, every 100 ms)
 * over the idle server's, at several chunk sizes and at two run sizes with the same chunk.
 */
async function memoryScenario(source: SyntheticSource, results: any): Promise<void> {
  results.memory = [];
  const cases = [...CHUNK_SIZES.map((chunkRecords) => ({ chunkRecords, records: 200_000 })), { chunkRecords: 20_000, records: 1_000_000 }];
  for (const { chunkRecords, records } of cases) {
    const ours = await pipelineScenario(source, { pipeline: "default", records, format: "ndjson" }, { chunkRecords }, true);
    const row = {
      chunkRecords,
      records,
      idleHeapMiB: ours.idleHeapMiB,
      seconds: ours.seconds,
      heldMiB: Object.fromEntries(Object.entries(ours.stages).map(([name, stage]: [string, any]) => [name, stage.heldMiB])),
    };
    results.memory.push(row);
    console.log("memory", JSON.stringify(row));
  }
}

/**
 * The new memory runs pause 20 ms before each R2 call of the stage agents (and of the Parquet floor), see
 * bench/bench-worker.ts: without it a stage that waits only on local R2 starves the inspector, and the
 * heap sampler gets no sample while it works. Their times are not figures.
 */
const R2_PAUSE_MS = 20;
const pauseFor = (heap: boolean): Record<string, string> => (heap ? { BENCH_R2_PAUSE_MS: String(R2_PAUSE_MS) } : {});

// 4. Parquet: a run of orders into the r2-parquet destination, against hyparquet-writer straight to R2.
const LAKE_BASE = "/api/pipelines/bench-lake";

async function lakeRun(source: SyntheticSource, records: number, heap: boolean) {
  const path = `/records?n=${records}&format=csv&shape=orders&days=${PARQUET_DAYS}`;
  const config = { sources: [{ type: "http", url: `${source.base}${path}`, format: "csv", timeoutMs: 300_000 }], ...PATIENT, ...EXTRA_CONFIG };
  const measured = await withServer({ BENCH_PIPELINES: "lake", BENCH_LAKE_CONFIG: JSON.stringify(config), ...pauseFor(heap) }, async (server) => {
    const outcome = await runAndWait(server, LAKE_BASE, records, heap);
    const files = await (await fetch(`${server.url}/bench/parquet-files?prefix=bench/lake-orders/`)).json();
    return { ...outcome, files };
  });
  return { ...runFigures(measured, heap), files: measured.result.files as { files: number; rows: number; bytes: number; schema: unknown } };
}

async function lakeFloor(records: number, heap: boolean) {
  const measured = await withServer(pauseFor(heap), async (server) => {
    const sampler = heap ? await sampleHeap(server, 100) : null;
    while (sampler && sampler.samples.length < 3) await sleep(50);
    const started = Date.now();
    const result = await post(server, `/bench/parquet-floor?n=${records}&days=${PARQUET_DAYS}&rowsPerFile=${PARQUET_ROWS_PER_FILE}`);
    const ended = Date.now();
    await sampler?.stop();
    const files = await (await fetch(`${server.url}/bench/parquet-files?prefix=floor/lake-orders/`)).json();
    const samples = sampler?.samples ?? [];
    const during = samples.filter((sample) => sample.at >= started && sample.at <= ended);
    const heldMiB = during.length === 0 ? null : round((Math.max(...during.map((sample) => sample.usedBytes)) - (samples[2]?.usedBytes ?? 0)) / 2 ** 20, 1);
    return { ...result, files, heldMiB, idleHeapMiB: round((samples[2]?.usedBytes ?? 0) / 2 ** 20, 1) };
  });
  return { seconds: round(measured.result.ms / 1000), peakRssMiB: measured.peakRssMiB, idleRssMiB: measured.idleRssMiB, ...measured.result };
}

async function parquetScenario(source: SyntheticSource, results: any): Promise<void> {
  const floor = await lakeFloor(PARQUET_RECORDS, false);
  console.log("parquet floor", JSON.stringify({ ...floor, files: { ...floor.files, schema: undefined } }));
  const ours = await lakeRun(source, PARQUET_RECORDS, false);
  // The same work: as many rows and files, and the same Parquet schema.
  if (ours.files.rows !== PARQUET_RECORDS || floor.files.rows !== PARQUET_RECORDS || ours.files.files !== floor.files.files) {
    throw new Error(`Parquet: ours ${ours.files.rows} rows in ${ours.files.files} files, floor ${floor.files.rows} in ${floor.files.files}, expected ${PARQUET_RECORDS} rows`);
  }
  if (JSON.stringify(ours.files.schema) !== JSON.stringify(floor.files.schema)) throw new Error(`Parquet schemas differ:\nours ${JSON.stringify(ours.files.schema)}\nfloor ${JSON.stringify(floor.files.schema)}`);
  const row = {
    records: PARQUET_RECORDS,
    days: PARQUET_DAYS,
    rowsPerFile: PARQUET_ROWS_PER_FILE,
    seconds: ours.seconds,
    recordsPerSecond: Math.round(PARQUET_RECORDS / ours.seconds),
    stages: ours.stages,
    files: ours.files.files,
    bytes: ours.files.bytes,
    floorSeconds: floor.seconds,
    floorRowsPerSecond: Math.round(PARQUET_RECORDS / floor.seconds),
    floorFiles: floor.files.files,
    floorPartitions: floor.partitions,
    floorBytes: floor.files.bytes,
    ratioToFloor: round(floor.seconds / ours.seconds),
    peakRssMiB: ours.peakRssMiB,
    floorPeakRssMiB: floor.peakRssMiB,
    rssRatio: round(ours.peakRssMiB / floor.peakRssMiB),
  };
  console.log("parquet", JSON.stringify(row));
  const memory = [];
  for (const records of PARQUET_MEMORY_SIZES) {
    const sampled = await lakeRun(source, records, true);
    const entry = { records, idleHeapMiB: sampled.idleHeapMiB, seconds: sampled.seconds, rowsPerPartition: Math.round(records / (floor.partitions || 1)), heldMiB: held(sampled.stages) };
    memory.push(entry);
    console.log("parquet memory", JSON.stringify(entry));
  }
  const floorHeap = await lakeFloor(Math.max(...PARQUET_MEMORY_SIZES), true);
  const floorMemory = { records: Math.max(...PARQUET_MEMORY_SIZES), idleHeapMiB: floorHeap.idleHeapMiB, heldMiB: floorHeap.heldMiB };
  console.log("parquet floor memory", JSON.stringify(floorMemory));
  results.parquet = { ...row, memory, floorMemory };
}

const held = (stages: Record<string, any>) => Object.fromEntries(Object.entries(stages).map(([name, stage]) => [name, stage.heldMiB]));

// 5. store-drops: many CSV files in R2, against listing, reading and upserting them plainly.
const DROPS_BASE = "/api/pipelines/bench-drops";

/** Rows in the store-drops scenario's files (the bench worker seeds the same). */
function dropsRows(files: number, minRows: number, maxRows: number): number {
  let rows = 0;
  for (let file = 0; file < files; file += 1) rows += dropFileRows(file, minRows, maxRows);
  return rows;
}

async function dropsRun(files: number, minRows: number, maxRows: number, heap: boolean) {
  const config = { ...PATIENT, ...EXTRA_CONFIG };
  const rows = dropsRows(files, minRows, maxRows);
  const measured = await withServer({ BENCH_PIPELINES: "drops", BENCH_DROPS_CONFIG: JSON.stringify(config), ...pauseFor(heap) }, async (server) => {
    const seeded = await post(server, `/bench/drops-seed?files=${files}&minRows=${minRows}&maxRows=${maxRows}`);
    const outcome = await runAndWait(server, DROPS_BASE, rows, heap);
    const counts = outcome.run.source?.objectCounts;
    if (seeded.rows !== rows || outcome.loaded !== rows || counts?.read !== files) throw new Error(`store-drops: seeded ${JSON.stringify(seeded)}, loaded ${outcome.loaded}, objects ${JSON.stringify(counts)}`);
    return { ...outcome, seeded };
  });
  return { ...runFigures(measured, heap), seeded: measured.result.seeded as { files: number; rows: number; bytes: number } };
}

async function dropsFloor(sizes: WriteSizes) {
  const measured = await withServer({}, async (server) => {
    const seeded = await post(server, `/bench/drops-seed?files=${DROPS_FILES}&minRows=${DROPS_MIN_ROWS}&maxRows=${DROPS_MAX_ROWS}`);
    const result = await post(server, `/bench/drops-floor?${sizesQuery(sizes)}`);
    if (result.rows !== seeded.rows || result.objects !== DROPS_FILES) throw new Error(`store-drops floor read ${JSON.stringify(result)} of ${JSON.stringify(seeded)}`);
    return result;
  });
  return { seconds: round(measured.result.ms / 1000), peakRssMiB: measured.peakRssMiB, idleRssMiB: measured.idleRssMiB };
}

async function dropsScenario(results: any): Promise<void> {
  // The literal upsert's best sizes for these columns (store_drops has orders' nine): this run's orders
  // sweep when the volume part ran, else a sweep of its own.
  const sweep = results.literalUpsert?.orders ?? (await literalSweep("orders", 100_000));
  const sizes = sweep.best as WriteSizes;
  const floor = await dropsFloor(sizes);
  console.log("drops floor", JSON.stringify(floor));
  const ours = await dropsRun(DROPS_FILES, DROPS_MIN_ROWS, DROPS_MAX_ROWS, false);
  const rows = ours.seeded.rows;
  const row = {
    files: DROPS_FILES,
    minRowsPerFile: DROPS_MIN_ROWS,
    maxRowsPerFile: DROPS_MAX_ROWS,
    rows,
    bytes: ours.seeded.bytes,
    seconds: ours.seconds,
    rowsPerSecond: Math.round(rows / ours.seconds),
    stages: ours.stages,
    floorSeconds: floor.seconds,
    floorRowsPerSecond: Math.round(rows / floor.seconds),
    floorSizes: sizes,
    // The sweep it took its sizes from: the volume part's for orders, or its own when that did not run.
    floorSweep: sweep === results.literalUpsert?.orders ? "literalUpsert.orders" : sweep.tried,
    ratioToFloor: round(floor.seconds / ours.seconds),
    peakRssMiB: ours.peakRssMiB,
    floorPeakRssMiB: floor.peakRssMiB,
    rssRatio: round(ours.peakRssMiB / floor.peakRssMiB),
  };
  console.log("drops", JSON.stringify(row));
  const memory = [];
  // The same rows as many small objects and as one large one: what extract holds follows the chunk, not the object.
  for (const [files, minRows, maxRows] of [
    [DROPS_FILES, DROPS_MIN_ROWS, DROPS_MAX_ROWS],
    [1, rows, rows],
  ] as const) {
    const sampled = await dropsRun(files, minRows, maxRows, true);
    const entry = { files, rows: sampled.seeded.rows, bytes: sampled.seeded.bytes, idleHeapMiB: sampled.idleHeapMiB, seconds: sampled.seconds, heldMiB: held(sampled.stages) };
    memory.push(entry);
    console.log("drops memory", JSON.stringify(entry));
  }
  results.drops = { ...row, memory };
}

// 6. PostgreSQL: orders-to-postgres through Hyperdrive, against the fastest upsert from Node (VALUES or unnest).
const POSTGRES_BASE = "/api/pipelines/bench-postgres";
const ORDERS_TABLE = `"public"."orders"`;
const FLOOR_TABLE = `"public"."orders_floor"`;
/** public.orders' columns in its DDL's order (the nine order columns, then run_id, loaded_at, position). */
const PG_COLUMNS = ["store_id", "order_id", "kind", "amount_cents", "net_cents", "currency", "original_order_id", "ordered_at", "order_day", "run_id", "loaded_at", "position"];
const PG_ARRAY_TYPES = ["text", "text", "text", "bigint", "bigint", "text", "text", "timestamptz", "text", "text", "bigint", "bigint"];
const PG_KEY = ["store_id", "order_id"];

type PgVariant = { kind: "values" | "unnest"; rows: number };

/** How many rows a statement of ours writes (the destination's ROWS_PER_STATEMENT), for the page's prose. */
function oursRowsPerStatement(): number {
  const source = readFileSync(join(ROOT, "src/destinations/postgres/upsert.ts"), "utf8");
  const found = /^export const ROWS_PER_STATEMENT = ([\d_]+);/m.exec(source);
  if (!found) throw new Error("src/destinations/postgres/upsert.ts has no ROWS_PER_STATEMENT");
  return Number(found[1]!.replaceAll("_", ""));
}

/**
 * The CSV's lines as public.orders rows, `size` at a time: orderRow's mapping (integer cents, the net
 * signed for a refund, null for no original order, the instant in one spelling and its UTC day), then
 * run_id, loaded_at and the line's position. The synthetic lines are all valid, so nothing is checked.
 */
function* ordersTableRows(csv: string, runId: string, loadedAt: number, size: number): Generator<unknown[][]> {
  let chunk: unknown[][] = [];
  let position = 0;
  let start = csv.indexOf("\n") + 1; // after the header
  while (start < csv.length) {
    const newline = csv.indexOf("\n", start);
    const end = newline === -1 ? csv.length : newline;
    const [storeId, orderId, kind, amount, currency, original, orderedAt] = csv.slice(start, end).split(",") as string[] as [string, string, string, string, string, string, string];
    start = end + 1;
    const [whole, fraction = ""] = amount.split(".") as [string, string?];
    const cents = Number(whole) * 100 + Number(fraction.padEnd(2, "0"));
    const instant = new Date(orderedAt).toISOString();
    chunk.push([storeId, orderId, kind, cents, kind === "refund" ? -cents : cents, currency, original === "" ? null : original, instant, instant.slice(0, 10), runId, loadedAt, position]);
    position += 1;
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

const PG_UPDATE = PG_COLUMNS.filter((name) => !PG_KEY.includes(name)).map((name) => `"${name}"=EXCLUDED."${name}"`).join(",");
const PG_CONFLICT = `ON CONFLICT (${PG_KEY.map((name) => `"${name}"`).join(",")}) DO UPDATE SET ${PG_UPDATE}`;
const PG_INSERT = `INSERT INTO ${FLOOR_TABLE} (${PG_COLUMNS.map((name) => `"${name}"`).join(",")})`;

/** `INSERT … VALUES ($1,…,$12),(…) ON CONFLICT (key) DO UPDATE SET …`: every value bound. */
function valuesUpsert(count: number): string {
  const width = PG_COLUMNS.length;
  const tuples: string[] = [];
  for (let row = 0; row < count; row += 1) tuples.push(`(${PG_COLUMNS.map((_, column) => `$${row * width + column + 1}`).join(",")})`);
  return `${PG_INSERT} VALUES ${tuples.join(",")} ${PG_CONFLICT}`;
}

/** `INSERT … SELECT * FROM unnest($1::text[], …) ON CONFLICT …`: one array a column. */
const UNNEST_UPSERT = `${PG_INSERT} SELECT * FROM unnest(${PG_ARRAY_TYPES.map((type, index) => `$${index + 1}::${type}[]`).join(",")}) ${PG_CONFLICT}`;

/**
 * CPU time the cluster has used so far (ms): the postmaster's own and that of its children, the ended
 * ones (backends, reaped by the postmaster) and the live ones (checkpointer, background writer, …). Set
 * beside a run's time, it says how much of it PostgreSQL itself worked.
 */
function postgresCpuMs(postmaster: number): number {
  const fields = (pid: number | string) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ").map(Number);
  const own = fields(postmaster);
  let ticks = own[11]! + own[12]! + own[13]! + own[14]!; // utime, stime, cutime, cstime
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === postmaster) continue;
    try {
      const child = fields(entry);
      if (child[1] === postmaster) ticks += child[11]! + child[12]!;
    } catch {
      // ended meanwhile: counted in the postmaster's cutime once reaped
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

/** The CPU PostgreSQL used during `work`, and the machine's 1-minute load average when it ended (other work on the machine shows there). */
async function withPostgresCpu<T>(postmaster: number, work: () => Promise<T>): Promise<T & { postgresCpuSeconds: number; loadAverage: number }> {
  const before = postgresCpuMs(postmaster);
  const result = await work();
  return { ...result, postgresCpuSeconds: round((postgresCpuMs(postmaster) - before) / 1000), loadAverage: round(loadavg()[0]!, 1) };
}

/** Runs SQL on the cluster from Node, one connection (set-up and checks). */
async function pgScript(url: string, sql: string): Promise<any[]> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(sql);
    return (Array.isArray(result) ? result.at(-1) : result).rows;
  } finally {
    await client.end();
  }
}

/** The orders table's DDL (migrations/postgres/public.orders.sql), for `table`. */
function ordersDdl(table: string): string {
  const ddl = readFileSync(join(ROOT, "migrations/postgres/public.orders.sql"), "utf8");
  if (!ddl.includes(ORDERS_TABLE)) throw new Error(`migrations/postgres/public.orders.sql does not create ${ORDERS_TABLE}`);
  return ddl.replace(ORDERS_TABLE, table);
}

/**
 * A try at the floor: the same lines as rows, written from Node with pg over one connection into a fresh
 * copy of public.orders, one transaction per PG_ROWS_PER_TRANSACTION rows, `variant.rows` rows a
 * statement, as a VALUES list of one parameter a value or as one array a column (unnest), no RETURNING.
 * Only the writes are timed (BEGIN to COMMIT of each transaction, the statement text and its values
 * included); reading the CSV into rows happens between them, off the clock.
 */
async function postgresFloor(url: string, csv: string, variant: PgVariant): Promise<{ kind: PgVariant["kind"]; rowsPerStatement: number; seconds: number; statements: number }> {
  await pgScript(url, `DROP TABLE IF EXISTS ${FLOOR_TABLE}; ${ordersDdl(FLOOR_TABLE)}; CHECKPOINT`);
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const texts = new Map<number, string>();
  let ms = 0;
  let statements = 0;
  try {
    for (const chunk of ordersTableRows(csv, "floor-run", Date.now(), PG_ROWS_PER_TRANSACTION)) {
      const started = performance.now();
      await client.query("BEGIN");
      for (let start = 0; start < chunk.length; start += variant.rows) {
        const slice = chunk.slice(start, start + variant.rows);
        if (variant.kind === "values") {
          let text = texts.get(slice.length);
          if (text === undefined) texts.set(slice.length, (text = valuesUpsert(slice.length)));
          await client.query(text, slice.flat());
        } else {
          await client.query(UNNEST_UPSERT, PG_COLUMNS.map((_, column) => slice.map((row) => row[column])));
        }
        statements += 1;
      }
      await client.query("COMMIT");
      ms += performance.now() - started;
    }
  } finally {
    await client.end();
  }
  const [{ n }] = await pgScript(url, `SELECT count(*)::int AS n FROM ${FLOOR_TABLE}`);
  if (n !== PG_RECORDS) throw new Error(`PostgreSQL floor (${variant.kind}, ${variant.rows} a statement) left ${n} rows, expected ${PG_RECORDS}`);
  return { kind: variant.kind, rowsPerStatement: variant.rows, seconds: round(ms / 1000), statements };
}

/** Ours: the bench copy of orders-to-postgres reading the same lines, its HYPERDRIVE binding on the cluster. */
async function postgresRun(source: SyntheticSource, url: string, path: string) {
  const config = { sources: [{ type: "http", url: `${source.base}${path}`, format: "csv", timeoutMs: 300_000 }], ...PATIENT, ...EXTRA_CONFIG };
  const measured = await withServer(
    { BENCH_PIPELINES: "postgres", BENCH_POSTGRES_CONFIG: JSON.stringify(config) },
    async (server) => {
      const outcome = await runAndWait(server, POSTGRES_BASE, PG_RECORDS, false);
      const [{ n }] = await pgScript(url, `SELECT count(*)::int AS n FROM ${ORDERS_TABLE}`);
      return { ...outcome, tableRows: n as number };
    },
    // wrangler's local Hyperdrive proxy reaches the cluster (a password with "/" in it would break it; planCluster's have none).
    { CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: url },
  );
  return { ...runFigures(measured, false), tableRows: measured.result.tableRows };
}

async function postgresScenario(source: SyntheticSource, results: any): Promise<void> {
  const started = Date.now();
  const path = `/records?n=${PG_RECORDS}&format=csv&shape=orders`;
  const csv = await (await fetch(`${source.base}${path}`)).text();
  const cluster = await startCluster(await planCluster());
  try {
    const [{ server_version: version }] = await pgScript(cluster.url, "SHOW server_version");
    const postmaster = cluster.pid()!;
    await pgScript(cluster.url, ordersDdl(ORDERS_TABLE));
    // The floor first, on a quiet machine (no wrangler dev yet): each variant into a fresh copy of the table.
    const tried = [];
    for (const rows of PG_ROWS_PER_STATEMENT) {
      const result = await withPostgresCpu(postmaster, () => postgresFloor(cluster.url, csv, { kind: "values", rows }));
      tried.push(result);
      console.log("postgres floor", JSON.stringify(result));
    }
    const unnest = [];
    for (const rows of PG_UNNEST_ROWS) {
      const result = await withPostgresCpu(postmaster, () => postgresFloor(cluster.url, csv, { kind: "unnest", rows }));
      unnest.push(result);
      console.log("postgres unnest", JSON.stringify(result));
    }
    await pgScript(cluster.url, `DROP TABLE ${FLOOR_TABLE}; CHECKPOINT`);
    // The platform at its best: the fastest try of either way of writing the rows.
    const floor = [...tried, ...unnest].reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const ours = await withPostgresCpu(postmaster, () => postgresRun(source, cluster.url, path));
    if (ours.loaded !== PG_RECORDS || ours.tableRows !== ours.loaded) throw new Error(`PostgreSQL: the run loaded ${ours.loaded}, ${ORDERS_TABLE} holds ${ours.tableRows}, expected ${PG_RECORDS}`);
    const load = ours.stages.load?.seconds as number;
    results.postgres = {
      date: new Date().toISOString(),
      machine: results.machine,
      postgresVersion: version,
      records: PG_RECORDS,
      rowsPerTransaction: PG_ROWS_PER_TRANSACTION,
      seconds: ours.seconds,
      recordsPerSecond: Math.round(PG_RECORDS / ours.seconds),
      stages: ours.stages,
      loaded: ours.loaded,
      tableRows: ours.tableRows,
      peakRssMiB: ours.peakRssMiB,
      idleRssMiB: ours.idleRssMiB,
      postgresCpuSeconds: ours.postgresCpuSeconds,
      loadAverage: ours.loadAverage,
      floorSeconds: floor.seconds,
      floorPostgresCpuSeconds: floor.postgresCpuSeconds,
      floorRowsPerSecond: Math.round(PG_RECORDS / floor.seconds),
      floorRowsPerStatement: floor.rowsPerStatement,
      floorKind: floor.kind,
      oursRowsPerStatement: oursRowsPerStatement(),
      floorTimed: "writes only (BEGIN to COMMIT of each transaction), the CSV read into rows off the clock",
      floorTried: tried,
      unnest,
      ratioToFloor: round(floor.seconds / ours.seconds),
      loadRatioToFloor: round(floor.seconds / load),
      durationSeconds: Math.round((Date.now() - started) / 1000),
      ranWith: ONLY?.join(",") ?? null,
    };
    console.log("postgres", JSON.stringify(results.postgres));
  } finally {
    await cluster.stop();
  }
}

function readPrevious(): any {
  try {
    return JSON.parse(readFileSync(join(ROOT, "bench/results.json"), "utf8"));
  } catch {
    return {};
  }
}

function renderTable(results: any): string {
  const lines: string[] = [];
  const n = (value: number) => value.toLocaleString("en");
  lines.push(`Measured ${results.date?.slice(0, 10)} on ${results.machine.cpus} × ${results.machine.cpuModel}, ${results.machine.memoryGiB} GiB, Node ${results.machine.node}, local \`wrangler dev\` (workerd, local D1 and R2). Every floor was measured in the same run.`, "");
  if (results.seed) {
    const { seed } = results;
    lines.push("| four-record run (" + seed.runs + " runs, client-side) | p50 | p95 |", "|---|---|---|");
    lines.push(`| \`POST /api/pipeline/trigger?wait=true\` | ${seed.pipeline.p50} ms | ${seed.pipeline.p95} ms |`);
    lines.push(`| floor: Worker → agent → 3 fresh agents, SQLite write + R2 hand-over each, one D1 insert | ${seed.floor.p50} ms | ${seed.floor.p95} ms |`);
    lines.push(`| **ratio** (target ≤ 1.2) | **${seed.ratioToFloor}** | ${round(seed.pipeline.p95 / seed.floor.p95)} |`, "");
  }
  if (results.volume) {
    lines.push(
      "| pipeline | records | format | end to end | records/s | extract / transform / load (s) | one-request job | **ratio** (target ≥ 0.7) | literal-upsert floor | **load / floor** (target ≥ 0.85) | peak RSS: run (extract / transform / load) | job's peak RSS | **RSS ratio** (target ≤ 1.2) |",
    );
    lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const row of results.volume) {
      const stageSeconds = (stage: any) => (stage === undefined ? "–" : stage.aheadSeconds ? `${stage.seconds} (+${stage.aheadSeconds} ahead)` : `${stage.seconds}`);
      const stages = ["extract", "transform", "load"].map((name) => stageSeconds(row.stages[name])).join(" / ");
      const stageRss = ["extract", "transform", "load"].map((name) => row.stages[name]?.peakRssMiB ?? "–").join(" / ");
      lines.push(
        `| ${row.pipeline} | ${n(row.records)} | ${row.format} | ${row.seconds} s | ${n(row.recordsPerSecond)} | ${stages} | ${row.jobSeconds} s | **${row.ratioToJob}** | ${row.floorSeconds} s | ${followedLoad(row) ? "– (load followed)" : `**${row.loadRatioToFloor}**`} | ${row.peakRssMiB} MiB (${stageRss}) | ${row.jobPeakRssMiB} MiB | **${row.rssRatio}** |`,
      );
    }
    lines.push("");
    const sweeps = Object.entries(results.literalUpsert ?? {}).map(
      ([pipeline, sweep]: [string, any]) => `${pipeline} at ${n(sweep.sweptAt)}: ${sweep.tried.map((entry: any) => `${entry.rows} × ${entry.statements} → ${entry.seconds} s`).join(", ")}`,
    );
    if (sweeps.length > 0) lines.push(`Literal-upsert floor, rows a statement × statements a batch tried (the fastest is the floor, and the job writes with it): ${sweeps.join("; ")}.`, "");
  }
  if (results.overlap) {
    const { overlap } = results;
    lines.push(
      `| \`default\`, ${n(overlap.records)} NDJSON records from a source paced at ${n(overlap.rate)} a second (${overlap.sourceSeconds} s of source) | end to end | extract / transform / load (s) | slowest stage | **end to end / slowest stage** (target ≤ 1.25) | one-request job | ratio to the job | peak RSS |`,
      "|---|---|---|---|---|---|---|---|",
    );
    for (const mode of overlap.modes) {
      const stages = ["extract", "transform", "load"].map((name) => {
        const stage = mode.stages[name];
        return stage === undefined ? "–" : stage.aheadSeconds ? `${stage.seconds} (+${stage.aheadSeconds} ahead)` : `${stage.seconds}`;
      });
      lines.push(
        `| ${mode.overlap ? "overlap on: transform follows extract, load follows transform (as shipped)" : "stage by stage (\`overlap: false\`)"} | ${mode.seconds} s | ${stages.join(" / ")} | ${mode.slowestStageSeconds} s | **${mode.ratioToSlowest}** | ${overlap.jobSeconds} s | ${mode.ratioToJob} | ${mode.peakRssMiB} MiB |`,
      );
    }
    lines.push("");
  }
  if (results.memory) {
    lines.push("| run (records) | chunk (records) | isolate's live heap, idle | held over idle by extract | transform | load |", "|---|---|---|---|---|---|");
    for (const row of results.memory) {
      const held = (name: string) => (row.heldMiB[name] === null ? "– (no sample)" : `${row.heldMiB[name]} MiB`);
      lines.push(`| ${n(row.records)} | ${n(row.chunkRecords)} | ${row.idleHeapMiB} MiB | ${held("extract")} | ${held("transform")} | ${held("load")} |`);
    }
    lines.push("");
  }
  if (results.api) {
    lines.push(`| route (50 connections, ${API_SECONDS} s) | requests/s | p99 latency | floor | **ratio** (target) |`);
    lines.push("|---|---|---|---|---|");
    for (const row of results.api) {
      const target = row.path === "/api/pipelines" ? "≥ 0.5" : row.floor ? "≥ 0.9" : "";
      const floor = row.floor === "/bench/read-floor" ? "one agent reading its SQLite" : row.floor ? `\`${row.floor}\`` : "";
      lines.push(`| \`GET ${row.path.replace(/runs\/[^/]+$/, "runs/:id")}\` | ${n(row.rps)} | ${row.p99} ms | ${floor} | ${row.ratioToFloor === null ? "" : `**${row.ratioToFloor}** (${target})`} |`);
    }
    lines.push("");
  }
  const heldCell = (value: number | null | undefined) => (value === null || value === undefined ? "– (no sample)" : `${value} MiB`);
  const mebibytes = (bytes: number) => `${round(bytes / 2 ** 20, 1)} MiB`;
  if (results.parquet) {
    const { parquet } = results;
    const stages = ["extract", "transform", "load"].map((name) => parquet.stages[name]?.seconds ?? "–").join(" / ");
    lines.push("| Parquet (orders-lake) | records | end to end | records/s | extract / transform / load (s) | floor: hyparquet-writer straight to R2 | **ratio** | files, size (ours / floor) | peak RSS | floor's peak RSS | **RSS ratio** |");
    lines.push("|---|---|---|---|---|---|---|---|---|---|---|");
    lines.push(
      `| CSV over ${parquet.days} days → ${parquet.floorPartitions} order_day partitions | ${n(parquet.records)} | ${parquet.seconds} s | ${n(parquet.recordsPerSecond)} | ${stages} | ${parquet.floorSeconds} s (${n(parquet.floorRowsPerSecond)} rows/s) | **${parquet.ratioToFloor}** | ${parquet.files}, ${mebibytes(parquet.bytes)} / ${parquet.floorFiles}, ${mebibytes(parquet.floorBytes)} | ${parquet.peakRssMiB} MiB | ${parquet.floorPeakRssMiB} MiB | **${parquet.rssRatio}** |`,
    );
    lines.push(
      "",
      `Floor: one Durable Object makes the same ${n(parquet.records)} rows already transformed (the nine orders columns and the dataset's run_id, loaded_at, position, with the same Parquet types; the schemas of both datasets are compared), in day order, and writes each partition with hyparquet-writer straight to R2: one file of at most ${n(parquet.rowsPerFile)} rows, then a small manifest put. Ours reads the CSV from the local source, validates and transforms it, gathers the rows in the load agent's SQLite and writes each partition's files from there (reading the partition's manifest first, listing its folder after).`,
      "",
    );
  }
  if (results.drops) {
    const { drops } = results;
    const stages = ["extract", "transform", "load"].map((name) => drops.stages[name]?.seconds ?? "–").join(" / ");
    lines.push("| store-drops (R2 files) | rows | end to end | rows/s | extract / transform / load (s) | floor: list, read, literal upsert | **ratio** | peak RSS | floor's peak RSS | **RSS ratio** |");
    lines.push("|---|---|---|---|---|---|---|---|---|---|");
    lines.push(
      `| ${n(drops.files)} CSV files of ${n(drops.minRowsPerFile)}–${n(drops.maxRowsPerFile)} rows (${mebibytes(drops.bytes)}) | ${n(drops.rows)} | ${drops.seconds} s | ${n(drops.rowsPerSecond)} | ${stages} | ${drops.floorSeconds} s (${n(drops.floorRowsPerSecond)} rows/s) | **${drops.ratioToFloor}** | ${drops.peakRssMiB} MiB | ${drops.floorPeakRssMiB} MiB | **${drops.rssRatio}** |`,
    );
    lines.push(
      "",
      `Floor: one Worker request lists the same ${n(drops.files)} objects, reads each one whole, splits its CSV lines and upserts the rows into a plain copy of store_drops, one object after another (the volume floor's literal multi-row upsert, ${drops.floorSizes?.rows} rows a statement, ${drops.floorSizes?.statements} statements a batch, the orders sweep's best). Ours lists them, checks the object ledger, reads them with several extract agents side by side, validates, transforms and loads, and records every object in the ledger.`,
      "",
    );
  }
  if (results.postgres) {
    const { postgres } = results;
    const stages = ["extract", "transform", "load"].map((name) => postgres.stages[name]?.seconds ?? "–").join(" / ");
    // Results from before the floor took the faster of both ways, and ours sent arrays, have neither field.
    const floorWay = postgres.floorKind === "unnest" ? "`unnest`, one array a column" : "`VALUES`, one parameter a value";
    lines.push("| PostgreSQL (orders-to-postgres) | records | end to end | records/s | extract / transform / load (s) | floor: the fastest upsert from Node (pg), writes only | **ratio** | **load alone / floor** | PostgreSQL's CPU (ours / floor) | peak RSS |");
    lines.push("|---|---|---|---|---|---|---|---|---|---|");
    lines.push(
      `| CSV → \`public.orders\` through Hyperdrive | ${n(postgres.records)} | ${postgres.seconds} s | ${n(postgres.recordsPerSecond)} | ${stages} | ${postgres.floorSeconds} s (${n(postgres.floorRowsPerSecond)} rows/s, ${floorWay}, ${n(postgres.floorRowsPerStatement)} rows a statement) | **${postgres.ratioToFloor}** | **${postgres.loadRatioToFloor}** | ${postgres.postgresCpuSeconds} s / ${postgres.floorPostgresCpuSeconds} s | ${postgres.peakRssMiB} MiB |`,
    );
    const tries = (list: any[]) => list.map((entry) => `${n(entry.rowsPerStatement)} → ${entry.seconds} s (PostgreSQL ${entry.postgresCpuSeconds} s)`).join(", ");
    lines.push(
      "",
      `Measured ${postgres.date.slice(0, 10)} on ${postgres.machine.cpus} × ${postgres.machine.cpuModel}, PostgreSQL ${postgres.postgresVersion} (a throwaway cluster, fsync off), ${postgres.ranWith ? `in a run of \`BENCH_ONLY=${postgres.ranWith}\`` : "in the full run"} (this part ${postgres.durationSeconds} s). Floor: the same ${n(postgres.records)} CSV lines read in Node into rows with orderRow's mapping (off the clock), then written with pg over one connection into a fresh copy of the table (the same twelve columns and primary key) each of two ways, no \`RETURNING\`, one transaction per ${n(postgres.rowsPerTransaction)} rows; only the writes are timed. \`INSERT … VALUES (…),(…) ON CONFLICT (store_id, order_id) DO UPDATE SET …\`, every value bound, rows a statement → time: ${tries(postgres.floorTried)}; \`INSERT … SELECT * FROM unnest($1::text[], …) ON CONFLICT …\`, one array a column: ${tries(postgres.unnest ?? [])}. The floor is the fastest of all of them (${floorWay}, ${n(postgres.floorRowsPerStatement)} rows a statement). Ours reads the CSV from the local source, validates and transforms it and loads through the Worker's HYPERDRIVE binding (wrangler's local proxy): ${postgres.oursRowsPerStatement ? `one array a column, \`INSERT … SELECT … FROM unnest($3::text[], …) ON CONFLICT … RETURNING "position"\`, ${n(postgres.oursRowsPerStatement)} rows a statement` : "1,000 rows a statement as a `VALUES` list with `RETURNING`"}, a fresh connection and one transaction per chunk of 20,000; \`count(*)\` of the table was checked equal to the run's loaded (${n(postgres.tableRows)}). PostgreSQL's CPU is the cluster's processes' (backends, checkpointer, writers) during the run or the try. Peak RSS is workerd's; the floor runs in Node, so there is no RSS to set beside it.`,
      "",
    );
  }
  if (results.parquet?.memory || results.drops?.memory) {
    lines.push("| live heap (held over idle) | run | isolate's live heap, idle | extract | transform | load |", "|---|---|---|---|---|---|");
    for (const row of results.parquet?.memory ?? []) {
      lines.push(`| Parquet, ${n(row.rowsPerPartition)} rows a partition | ${n(row.records)} records | ${row.idleHeapMiB} MiB | ${heldCell(row.heldMiB.extract)} | ${heldCell(row.heldMiB.transform)} | ${heldCell(row.heldMiB.load)} |`);
    }
    const floorMemory = results.parquet?.floorMemory;
    if (floorMemory) lines.push(`| Parquet floor (the one request) | ${n(floorMemory.records)} records | ${floorMemory.idleHeapMiB} MiB | | | ${heldCell(floorMemory.heldMiB)} |`);
    for (const row of results.drops?.memory ?? []) {
      lines.push(`| store-drops, ${row.files === 1 ? "one object" : `${n(row.files)} objects`} (${mebibytes(row.bytes)}) | ${n(row.rows)} rows | ${row.idleHeapMiB} MiB | ${heldCell(row.heldMiB.extract)} | ${heldCell(row.heldMiB.transform)} | ${heldCell(row.heldMiB.load)} |`);
    }
    lines.push(
      "",
      `The isolate's live heap (a full collection, then the used heap, every 100 ms) while each stage works, over the idle server's; every agent shares the one isolate locally, so extract's figure is all its readers together (store-drops: four side by side for 1,000 files, one for one object). In these runs each R2 call of the stage agents (and of the floor) first waits ${R2_PAUSE_MS} ms, so that the inspector gets in (a stage that waits only on local R2 gave no sample at all without it); samples land at those waits, so what a stage allocates and drops between two of them (a Parquet file being encoded, a chunk's rows inside one SQLite pass) is not in them.`,
    );
  }
  return lines.join("\n").trimEnd();
}

/** A volume row whose load followed transform (its turn only the publish): its load is not set against the floor. */
function followedLoad(row: any): boolean {
  return Boolean(row.stages?.load?.aheadSeconds);
}

function updateResultsPage(table: string): void {
  const path = join(ROOT, "docs", "benchmark.md");
  const page = readFileSync(path, "utf8");
  const start = "<!-- bench:start -->";
  const end = "<!-- bench:end -->";
  if (!page.includes(start) || !page.includes(end)) {
    console.warn("docs/benchmark.md has no bench markers; results table not written there");
    return;
  }
  writeFileSync(path, `${page.slice(0, page.indexOf(start) + start.length)}\n${table}\n${page.slice(page.indexOf(end))}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
