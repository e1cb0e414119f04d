/**
 * npm run bench: the service measured next to its floors, in the same run, on the same machine.
 *
 * 1. The seed's four-record run, 50 times (POST /api/pipeline/trigger?wait=true), against the floor: the
 *    same Durable Object hops and storage writes doing no work.
 * 2. 10k / 100k / 1M synthetic records (JSON, NDJSON and CSV at 100k; NDJSON at 1M) from a local source,
 *    end to end, against a raw D1 bulk upsert of the same rows; peak RSS of workerd for both.
 * 3. GET /api/pipeline/last and /history under load (autocannon, 10 s, 50 connections) against a bare
 *    route of the same Worker (/api/health).
 *
 * Every scenario gets a fresh `wrangler dev` with fresh local state. Writes bench/results.json and the
 * results table in README.md. Everything it starts is stopped by the PID it started.
 */
import autocannon from "autocannon";
import { parse } from "jsonc-parser";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { startSyntheticSource, type SyntheticSource } from "./lib/synthetic-source.ts";
import { migrateLocal, sleep, startDev, stopDev, workerdRssKiB, type DevServer } from "./lib/wrangler-dev.ts";

const ROOT = resolve(import.meta.dirname, "..");
const BENCH_CONFIG = join(ROOT, ".bench-wrangler.jsonc");
const SEED_RUNS = Number(process.env.BENCH_SEED_RUNS ?? 50);
const API_SECONDS = Number(process.env.BENCH_API_SECONDS ?? 10);
const ONLY = process.env.BENCH_ONLY?.split(",");
/** Experiments: "1000000:ndjson,100000:csv" runs just those volume cases; BENCH_CONFIG is merged into PIPELINE_CONFIG. */
const CASES = process.env.BENCH_CASES?.split(",").map((entry) => entry.split(":") as [string, Format]).map(([count, format]) => [Number(count), format] as [number, Format]);
const EXTRA_CONFIG = JSON.parse(process.env.BENCH_CONFIG ?? "{}") as Record<string, unknown>;
const RAW_STATEMENTS = Number(process.env.BENCH_RAW_STATEMENTS ?? 100);

type Format = "json" | "ndjson" | "csv";

/** The real configuration, pointed at the benchmark Worker, with the floor agents added. */
function writeBenchConfig(): void {
  const config = parse(readFileSync(join(ROOT, "wrangler.jsonc"), "utf8"));
  config.main = "bench/bench-worker.ts";
  delete config.triggers;
  config.durable_objects.bindings.push(
    { name: "FloorScheduler", class_name: "FloorScheduler" },
    { name: "FloorCoordinator", class_name: "FloorCoordinator" },
    { name: "FloorStage", class_name: "FloorStage" },
  );
  config.migrations.push({ tag: "bench-floor", new_sqlite_classes: ["FloorScheduler", "FloorCoordinator", "FloorStage"] });
  writeFileSync(BENCH_CONFIG, JSON.stringify(config, null, 2));
}

interface Measured<T> {
  result: T;
  peakRssMiB: number;
}

/** Runs `work` against a fresh server and reports its result and the peak RSS of workerd meanwhile. */
async function withServer<T>(vars: Record<string, string>, work: (server: DevServer) => Promise<T>): Promise<Measured<T>> {
  const persistTo = mkdtempSync(join(tmpdir(), "pipeline-bench-"));
  migrateLocal(persistTo, BENCH_CONFIG);
  const server = await startDev({ persistTo, config: BENCH_CONFIG, vars: { ALLOW_UNAUTHENTICATED: "true", ...vars } });
  let peak = workerdRssKiB(server);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, workerdRssKiB(server));
      await sleep(100);
    }
  })();
  try {
    const result = await work(server);
    return { result, peakRssMiB: Math.round(peak / 1024) };
  } finally {
    sampling = false;
    await sampler;
    await stopDev(server);
    rmSync(persistTo, { recursive: true, force: true });
  }
}

async function post(server: DevServer, path: string): Promise<any> {
  const response = await fetch(`${server.url}${path}`, { method: "POST" });
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
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 10) / 10;
}

// 1. The seed's four-record run against the floor.
async function seedScenario() {
  return withServer({}, async (server) => {
    for (let warm = 0; warm < 5; warm += 1) {
      await post(server, "/api/pipeline/trigger?wait=true");
      await post(server, "/bench/floor-run");
    }
    const pipeline: number[] = [];
    const floor: number[] = [];
    const serverSide: number[] = [];
    for (let index = 0; index < SEED_RUNS; index += 1) {
      let body: any;
      pipeline.push(await timed(async () => (body = await post(server, "/api/pipeline/trigger?wait=true"))));
      if (body.run.status !== "succeeded") throw new Error(`seed run failed: ${JSON.stringify(body.run)}`);
      serverSide.push(body.run.totalDuration);
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

// 2. Volume: the pipeline end to end, and the raw upsert of the same rows.
async function pipelineScenario(source: SyntheticSource, count: number, format: Format) {
  const config = {
    sources: [{ type: "http", url: `${source.base}/records?n=${count}&format=${format}`, format, timeoutMs: 120_000 }],
    ...(format === "csv" ? { fields: { type: "type" } } : {}),
    timeouts: { stageMs: 3_600_000 },
    recovery: { stallTimeoutMs: 600_000 },
    ...EXTRA_CONFIG,
  };
  return withServer({ PIPELINE_CONFIG: JSON.stringify(config) }, async (server) => {
    const started = performance.now();
    const trigger = await post(server, "/api/pipeline/trigger");
    let run: any;
    do {
      await sleep(250);
      run = await (await fetch(`${server.url}/api/pipeline/runs/${trigger.pipelineId}`)).json();
    } while (run.status === "running");
    const wallMs = performance.now() - started;
    if (run.status !== "succeeded" || run.finalResult.recordCount !== count) throw new Error(`run did not load ${count}: ${JSON.stringify(run).slice(0, 800)}`);
    return {
      seconds: Math.round(run.totalDuration / 10) / 100,
      wallSeconds: Math.round(wallMs / 10) / 100,
      stages: Object.fromEntries(run.stages.map((stage: any) => [stage.name, Math.round(stage.durationMs / 10) / 100])),
    };
  });
}

async function rawScenario(count: number) {
  return withServer({}, async (server) => {
    const result = await post(server, `/bench/raw-insert?n=${count}&statements=${RAW_STATEMENTS}`);
    return { seconds: Math.round(result.ms / 10) / 100 };
  });
}

// 3. API reads under load.
async function apiScenario() {
  return withServer({}, async (server) => {
    for (let index = 0; index < 25; index += 1) await post(server, "/api/pipeline/trigger?wait=true");
    const rows: { path: string; rps: number; p99: number; non2xx: number }[] = [];
    for (const path of ["/api/health", "/api/pipeline/last", "/api/pipeline/history"]) {
      const result = await autocannon({ url: `${server.url}${path}`, connections: 50, duration: API_SECONDS });
      rows.push({ path, rps: Math.round(result.requests.average), p99: result.latency.p99, non2xx: result.non2xx + result.errors });
    }
    return rows;
  });
}

async function main(): Promise<void> {
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
      results.seed = { ...seed.result, peakRssMiB: seed.peakRssMiB, ratioToFloor: Math.round((seed.result.pipeline.p50 / seed.result.floor.p50) * 100) / 100 };
      console.log("seed", JSON.stringify(results.seed));
    }
    if (!ONLY || ONLY.includes("volume")) {
      const counts = [...new Set((CASES ?? [[10_000], [100_000], [1_000_000]]).map(([count]) => count as number))];
      const raw = new Map<number, Measured<{ seconds: number }>>();
      for (const count of counts) {
        raw.set(count, await rawScenario(count));
        console.log("raw", count, JSON.stringify(raw.get(count)));
      }
      const cases: [number, Format][] = CASES ?? [
        [10_000, "ndjson"],
        [100_000, "json"],
        [100_000, "ndjson"],
        [100_000, "csv"],
        [1_000_000, "ndjson"],
      ];
      results.volume = [];
      for (const [count, format] of cases) {
        const measured = await pipelineScenario(source, count, format);
        const floor = raw.get(count)!;
        const rate = Math.round(count / measured.result.seconds);
        const rawRate = Math.round(count / floor.result.seconds);
        const row = {
          records: count,
          format,
          seconds: measured.result.seconds,
          recordsPerSecond: rate,
          stages: measured.result.stages,
          rawSeconds: floor.result.seconds,
          rawRowsPerSecond: rawRate,
          ratioToRaw: Math.round((rate / rawRate) * 100) / 100,
          peakRssMiB: measured.peakRssMiB,
          rawPeakRssMiB: floor.peakRssMiB,
          rssRatio: Math.round((measured.peakRssMiB / floor.peakRssMiB) * 100) / 100,
        };
        results.volume.push(row);
        console.log("volume", JSON.stringify(row));
      }
    }
    if (!ONLY || ONLY.includes("api")) {
      const api = await apiScenario();
      const bare = api.result.find((row) => row.path === "/api/health")!;
      results.api = api.result.map((row) => ({ ...row, ratioToBare: Math.round((row.rps / bare.rps) * 100) / 100 }));
      console.log("api", JSON.stringify(results.api));
    }
  } finally {
    await source.close();
    rmSync(BENCH_CONFIG, { force: true });
  }
  results.durationSeconds = Math.round((Date.now() - started) / 1000);
  const previous = readPrevious();
  const merged = ONLY ? { ...previous, ...results } : results;
  writeFileSync(join(ROOT, "bench/results.json"), `${JSON.stringify(merged, null, 2)}\n`);
  const table = renderTable(merged);
  console.log(`\n${table}`);
  updateReadme(table);
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
  lines.push(`Measured ${results.date?.slice(0, 10)} on ${results.machine.cpus} × ${results.machine.cpuModel}, ${results.machine.memoryGiB} GiB, Node ${results.machine.node}, local \`wrangler dev\` (workerd, local D1 and R2).`, "");
  if (results.seed) {
    const { seed } = results;
    lines.push(
      `**Four-record run** (${seed.runs} runs, \`POST /api/pipeline/trigger?wait=true\`, client-side): p50 ${seed.pipeline.p50} ms, p95 ${seed.pipeline.p95} ms. ` +
        `Floor (the same agent hops and storage writes, no work): p50 ${seed.floor.p50} ms, p95 ${seed.floor.p95} ms. Ratio p50 ${seed.ratioToFloor} (target ≤ 1).`,
      "",
    );
  }
  if (results.volume) {
    lines.push("| records | format | end to end | records/s | extract / transform / load (s) | raw D1 upsert | ratio to raw (target ≥ 0.6) | peak RSS | raw peak RSS | RSS ratio (target ≤ 1.2) |");
    lines.push("|---|---|---|---|---|---|---|---|---|---|");
    for (const row of results.volume) {
      lines.push(
        `| ${row.records.toLocaleString("en")} | ${row.format} | ${row.seconds} s | ${row.recordsPerSecond.toLocaleString("en")} | ${row.stages.extract} / ${row.stages.transform} / ${row.stages.load} | ${row.rawSeconds} s (${row.rawRowsPerSecond.toLocaleString("en")} rows/s) | ${row.ratioToRaw} | ${row.peakRssMiB} MiB | ${row.rawPeakRssMiB} MiB | ${row.rssRatio} |`,
      );
    }
    lines.push("");
  }
  if (results.api) {
    lines.push("| route (50 connections, 10 s) | requests/s | p99 latency | ratio to bare route (target ≥ 0.5) |");
    lines.push("|---|---|---|---|");
    for (const row of results.api) lines.push(`| \`GET ${row.path}\` | ${row.rps.toLocaleString("en")} | ${row.p99} ms | ${row.ratioToBare} |`);
  }
  return lines.join("\n");
}

function updateReadme(table: string): void {
  const path = join(ROOT, "README.md");
  const readme = readFileSync(path, "utf8");
  const start = "<!-- bench:start -->";
  const end = "<!-- bench:end -->";
  if (!readme.includes(start) || !readme.includes(end)) {
    console.warn("README.md has no bench markers; results table not written there");
    return;
  }
  writeFileSync(path, `${readme.slice(0, readme.indexOf(start) + start.length)}\n${table}\n${readme.slice(readme.indexOf(end))}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
