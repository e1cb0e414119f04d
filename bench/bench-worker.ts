/**
 * The benchmark's Worker: the real service (same app, same agents) plus the floors it is measured
 * against, so both run in the same workerd on the same machine. Never deployed: `npm run bench` writes a
 * wrangler config pointing here. A floor is the platform at its best, the plainest code doing the same
 * storage work, never our own code path:
 *
 * - POST /bench/floor-run: Worker → FloorCoordinator → three fresh FloorStage agents in sequence, plain
 *   stubs; each stage one SQLite write and an R2 put/get hand-over, the last one D1 insert; the
 *   coordinator writes its run row. The hops of a four-record run, doing nothing else.
 * - POST /bench/literal-upsert?pipeline=&n=&rows=&statements=: the pipeline's synthetic rows, its own
 *   columns only, into a plain copy of its table: multi-row `INSERT … VALUES … ON CONFLICT DO UPDATE` with
 *   the values as SQL literals (bench/literal-upsert.ts), `rows` rows a statement, `statements` statements
 *   per `batch()`, no RETURNING. The fastest D1 write known.
 * - POST /bench/job?pipeline=&url=&format=&rows=&statements=: the job a user would write instead
 *   (bench/one-request-job.ts): this one request fetches `url`, parses and checks every record as the
 *   pipeline does, and writes the rows with the literal upsert into the same plain copy.
 * - GET /bench/read-floor: one agent answering a stored JSON text from its SQLite (PUT seeds the text).
 * - POST /bench/parquet-floor?n=&days=&rowsPerFile=: in one Durable Object, the orders rows the Parquet
 *   pipeline writes for a run of n lines spread over `days` days (already transformed, with the dataset's
 *   bookkeeping columns), written by hyparquet-writer straight to LAKE: the same columns and Parquet types,
 *   one file per order_day partition (at most rowsPerFile rows each), each partition's file put and then
 *   a small manifest put. Rows arrive in day order, so nothing is gathered first.
 * - GET /bench/parquet-files?prefix=: the Parquet files under a prefix of LAKE (count, rows, bytes, the
 *   first file's schema), so the benchmark can check ours and the floor's wrote the same.
 * - POST /bench/drops-seed?files=&minRows=&maxRows=: puts the store-drops scenario's CSV files into UPLOADS
 *   under bench-drops/ (untimed set-up).
 * - POST /bench/drops-floor?statements=: lists those objects, reads each one, splits its CSV lines and
 *   upserts the rows into a plain copy of store_drops (the literal upsert above, `rows` and `statements`),
 *   one object after another in one Worker request.
 */
import { Agent } from "agents";
import { env as moduleEnv } from "cloudflare:workers";
import { parquetMetadata, type SchemaElement } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import worker from "../src/index";
import { deployment } from "../src/pipelines";
import { columnSettings } from "../src/engine/columns";
import { createPlainTable, LiteralUpsert, type Literal, type PlainTable } from "./literal-upsert";
import { METRICS_COPY, ORDERS_COPY, ordersJob, readingsJob, type WriteSizes } from "./one-request-job";
import { BENCH_DROPS_PREFIX, BENCH_EXTRA_PIPELINES, BENCH_SCENARIO_PIPELINES } from "./extra-pipelines";
import { dropFileRows, dropFileText, orderStepMs, syntheticOrderRow, syntheticRow } from "./synthetic";

import { ExtractStage as RealExtractStage, LoadStage as RealLoadStage, TransformStage as RealTransformStage } from "../src/index";

export { PipelineScheduler, PipelineCoordinator } from "../src/index";

/**
 * The memory runs of the Parquet and store-drops scenarios set BENCH_R2_PAUSE_MS: then the stage agents'
 * R2 buckets wait that long before each call. A stage whose only waits are short local R2 calls (the
 * Parquet load: SQLite and R2, no network) keeps workerd's isolate so busy that the inspector's commands
 * never get in, and the heap sampler got no sample at all during such a load; with a pause at each R2
 * call the isolate is idle there and a sample lands. The stages' code and what they hold are unchanged;
 * their times in those runs are not figures.
 */
const R2_PAUSE_MS = Number((moduleEnv as unknown as Record<string, unknown>).BENCH_R2_PAUSE_MS ?? 0);
const BUCKETS = new Set(["STAGING", "UPLOADS", "LAKE"]);
const CALLS = new Set(["get", "put", "list", "head", "delete"]);

function pausedBucket(bucket: R2Bucket): R2Bucket {
  return new Proxy(bucket, {
    get(target, name) {
      const value = Reflect.get(target, name, target) as unknown;
      if (typeof value !== "function") return value;
      if (!CALLS.has(String(name))) return (value as (...args: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setTimeout(resolve, R2_PAUSE_MS));
        return (value as (...args: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function pausedEnv(env: Env): Env {
  return new Proxy(env, { get: (target, name) => (BUCKETS.has(String(name)) ? pausedBucket(Reflect.get(target, name) as R2Bucket) : Reflect.get(target, name)) });
}

function withPausedR2<T extends new (...args: any[]) => object>(Stage: T): T {
  if (!(R2_PAUSE_MS > 0)) return Stage;
  return class extends Stage {
    constructor(...args: any[]) {
      super(args[0], pausedEnv(args[1] as Env));
    }
  };
}

export const ExtractStage = withPausedR2(RealExtractStage);
export const TransformStage = withPausedR2(RealTransformStage);
export const LoadStage = withPausedR2(RealLoadStage);

// GET /api/pipelines is measured with eight pipelines declared (the five shipped, three copies).
for (const pipeline of BENCH_EXTRA_PIPELINES) deployment.add(pipeline);
// The Parquet, store-drops and PostgreSQL scenarios' copies, only in the servers that run them (BENCH_PIPELINES=lake,drops,postgres).
for (const name of String((moduleEnv as unknown as Record<string, unknown>).BENCH_PIPELINES ?? "").split(",")) {
  const pipeline = BENCH_SCENARIO_PIPELINES[name];
  if (pipeline) deployment.add(pipeline);
}

interface BenchEnv extends Env {
  FloorCoordinator: DurableObjectNamespace<FloorCoordinator>;
  FloorStage: DurableObjectNamespace<FloorStage>;
  FloorReader: DurableObjectNamespace<FloorReader>;
  FloorLake: DurableObjectNamespace<FloorLake>;
}

export class FloorCoordinator extends Agent<BenchEnv> {
  async run(runId: string): Promise<void> {
    let previous: string | null = null;
    for (const stage of ["extract", "transform", "load"] as const) {
      previous = await this.env.FloorStage.getByName(`${runId}:${stage}`).work(runId, stage, previous);
    }
    this.sql`CREATE TABLE IF NOT EXISTS floor_runs (run_id TEXT PRIMARY KEY, status TEXT NOT NULL)`;
    this.sql`INSERT INTO floor_runs (run_id, status) VALUES (${runId}, 'succeeded')`;
  }
}

export class FloorStage extends Agent<BenchEnv> {
  async work(runId: string, stage: string, previous: string | null): Promise<string> {
    this.sql`CREATE TABLE IF NOT EXISTS floor_task (run_id TEXT, stage TEXT)`;
    this.sql`INSERT INTO floor_task (run_id, stage) VALUES (${runId}, ${stage})`;
    const input = previous ? await (await this.env.STAGING.get(previous))?.text() : "{}\n";
    const key = `floor/${runId}/${stage}`;
    if (stage === "load") await this.env.DB.prepare("INSERT INTO bench_floor (run_id, body) VALUES (?, ?)").bind(runId, input ?? "").run();
    else await this.env.STAGING.put(key, input ?? "");
    return key;
  }
}

export class FloorReader extends Agent<BenchEnv> {
  async read(): Promise<string | null> {
    return this.sql<{ body: string }>`SELECT body FROM floor_read WHERE id = 1`[0]?.body ?? null;
  }

  async seed(body: string): Promise<void> {
    this.sql`CREATE TABLE IF NOT EXISTS floor_read (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`;
    this.sql`INSERT OR REPLACE INTO floor_read (id, body) VALUES (1, ${body})`;
  }
}

/**
 * The Parquet floor's schema, written out as the plainest code would: the orders-lake columns with their
 * Parquet types (text → STRING, integer → INT64, timestamp → TIMESTAMP in ms, adjusted to UTC; nullable →
 * OPTIONAL), then the dataset's run_id, loaded_at and position.
 */
const STRING = { type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" } } as const;
const INT64 = { type: "INT64" } as const;
const TIMESTAMP = { type: "INT64", converted_type: "TIMESTAMP_MILLIS", logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" } } as const;
const LAKE_COLUMNS: [string, Omit<SchemaElement, "name" | "repetition_type">, boolean][] = [
  ["store_id", STRING, false],
  ["order_id", STRING, false],
  ["kind", STRING, false],
  ["amount_cents", INT64, false],
  ["net_cents", INT64, false],
  ["currency", STRING, false],
  ["original_order_id", STRING, true],
  ["ordered_at", TIMESTAMP, false],
  ["order_day", STRING, false],
  ["run_id", STRING, false],
  ["loaded_at", TIMESTAMP, false],
  ["position", INT64, true],
];
const LAKE_SCHEMA: SchemaElement[] = [
  { name: "schema", num_children: LAKE_COLUMNS.length },
  ...LAKE_COLUMNS.map(([name, element, nullable]) => ({ name, repetition_type: nullable ? ("OPTIONAL" as const) : ("REQUIRED" as const), ...element })),
];

export class FloorLake extends Agent<BenchEnv> {
  async write(count: number, days: number, rowsPerFile: number): Promise<{ ms: number; files: number; partitions: number; bytes: number }> {
    const stepMs = orderStepMs(count, days);
    const lake = R2_PAUSE_MS > 0 ? pausedBucket(this.env.LAKE) : this.env.LAKE; // memory runs only, as the stages'
    const runId = `floor-${Date.now()}`;
    const started = Date.now();
    const loadedAt = new Date(started);
    const fresh = () => LAKE_COLUMNS.map((): unknown[] => []);
    let columns = fresh();
    let day: string | null = null;
    let part = 0;
    let files = 0;
    let partitions = 0;
    let bytes = 0;
    let named: { key: string; rows: number; bytes: number }[] = [];
    const flush = async () => {
      const rows = columns[0]!.length;
      if (rows === 0) return;
      const buffer = parquetWriteBuffer({ schema: LAKE_SCHEMA, columnData: LAKE_COLUMNS.map(([name], index) => ({ name, data: columns[index]! })), rowGroupSize: rows });
      const key = `floor/lake-orders/order_day=${day}/${runId}-${part}.parquet`;
      await lake.put(key, buffer);
      named.push({ key, rows, bytes: buffer.byteLength });
      files += 1;
      bytes += buffer.byteLength;
      part += 1;
      columns = fresh();
    };
    const commit = async () => {
      await flush();
      if (day !== null) await lake.put(`floor/lake-orders/order_day=${day}/_manifest.json`, JSON.stringify({ runId, files: named }));
      partitions += day === null ? 0 : 1;
      named = [];
      part = 0;
    };
    for (let index = 0; index < count; index += 1) {
      const row = syntheticOrderRow(index, stepMs);
      if (row.order_day !== day) {
        await commit();
        day = row.order_day;
      } else if (columns[0]!.length === rowsPerFile) await flush();
      const values = [row.store_id, row.order_id, row.kind, BigInt(row.amount_cents), BigInt(row.net_cents), row.currency, row.original_order_id, new Date(row.ordered_at), row.order_day, runId, loadedAt, BigInt(index)];
      for (let column = 0; column < values.length; column += 1) columns[column]!.push(values[column]);
    }
    await commit();
    return { ms: Date.now() - started, files, partitions, bytes };
  }
}

/** The Parquet files under a prefix of LAKE: how many, their rows and bytes, and the first one's schema. */
async function parquetFiles(env: BenchEnv, prefix: string) {
  let cursor: string | undefined;
  let files = 0;
  let rows = 0;
  let bytes = 0;
  let schema: unknown = null;
  do {
    const page = await env.LAKE.list({ prefix, cursor });
    for (const object of page.objects) {
      if (!object.key.endsWith(".parquet")) continue;
      const metadata = parquetMetadata(await (await env.LAKE.get(object.key))!.arrayBuffer());
      files += 1;
      rows += Number(metadata.num_rows);
      bytes += object.size;
      schema ??= metadata.schema.map(({ name, type, repetition_type, converted_type, logical_type }) => ({ name, type, repetition_type, converted_type, logical_type }));
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return { files, rows, bytes, schema };
}

/** The store-drops scenario's files under bench-drops/: sizes vary between minRows and maxRows. */
async function seedDrops(env: BenchEnv, files: number, minRows: number, maxRows: number) {
  let first = 0;
  let bytes = 0;
  for (let file = 0; file < files; file += 1) {
    const rows = dropFileRows(file, minRows, maxRows);
    const stored = await env.UPLOADS.put(`${BENCH_DROPS_PREFIX}store-${file % 20}/drop-${String(file).padStart(5, "0")}.csv`, dropFileText(first, rows));
    bytes += stored!.size;
    first += rows;
  }
  return { files, rows: first, bytes };
}

/**
 * The store-drops floor: list bench-drops/, read each object whole, split its lines, and upsert the rows
 * into a plain copy of store_drops with the volume floor's literal upsert.
 */
async function dropsFloor(env: BenchEnv, sizes: WriteSizes) {
  const table = await plainCopy(env, "store-drops", "floor_store_drops");
  const writer = new LiteralUpsert(env.DB, table, sizes.rowsPerStatement, sizes.statementsPerBatch);
  const started = Date.now();
  let objects = 0;
  let cursor: string | undefined;
  do {
    const page = await env.UPLOADS.list({ prefix: BENCH_DROPS_PREFIX, cursor, limit: 1000 });
    for (const listed of page.objects) {
      const text = await (await env.UPLOADS.get(listed.key))!.text();
      objects += 1;
      const lines = text.split("\n");
      for (let line = 1; line < lines.length; line += 1) {
        if (lines[line] === "") continue;
        const [store_id, order_id, kind, amount, currency, original, ordered_at] = lines[line]!.split(",") as string[];
        const cents = Math.round(Number(amount) * 100);
        await writer.add([store_id!, order_id!, kind!, cents, kind === "refund" ? -cents : cents, currency!, original === "" ? null : original!, ordered_at!, ordered_at!.slice(0, 10)]);
      }
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const rows = await writer.finish();
  return { ms: Date.now() - started, objects, rows };
}

/** The synthetic rows of the pipelines the volume benchmark runs, in their columns' order. */
const ROWS: Record<string, (index: number) => Literal[]> = {
  default: (index) => {
    const row = syntheticRow(index);
    return ["default", row.id, row.timestamp, row.value, row.category, row.type];
  },
  orders: (index) => Object.values(syntheticOrderRow(index)),
};

/** The one-request jobs' tables, which are the plain copies the floors write. */
const JOB_TABLES: Record<string, PlainTable> = { default: METRICS_COPY, orders: ORDERS_COPY };

/**
 * A plain copy of a pipeline's table for a floor (its own columns, types and key, nothing of ours), made
 * empty, named `table`.
 */
async function plainCopy(env: BenchEnv, name: string, table: string): Promise<PlainTable> {
  const pipeline = deployment.find(name)!;
  const columns = columnSettings(pipeline.destination.columns);
  const copy = { table, columns: columns.map((column) => column.name), key: pipeline.destination.key, types: columns.map((column) => column.type), nullable: columns.map((column) => column.nullable) };
  await createPlainTable(env.DB, copy);
  return copy;
}

/** The literal upsert of a pipeline's synthetic rows into a plain copy of its table. */
async function literalFloor(env: BenchEnv, name: string, count: number, sizes: WriteSizes): Promise<number> {
  const table = await plainCopy(env, name, JOB_TABLES[name]!.table);
  const rowOf = ROWS[name]!;
  const started = Date.now();
  const writer = new LiteralUpsert(env.DB, table, sizes.rowsPerStatement, sizes.statementsPerBatch);
  for (let index = 0; index < count; index += 1) await writer.add(rowOf(index));
  await writer.finish();
  return Date.now() - started;
}

/** The one-request job of a pipeline, reading `url`; its table is made empty first (off the clock). */
async function job(env: BenchEnv, name: string, url: string, format: "ndjson" | "json" | "csv", sizes: WriteSizes) {
  const table = await plainCopy(env, name, JOB_TABLES[name]!.table);
  if (table.columns.join() !== JOB_TABLES[name]!.columns.join()) throw new Error(`the ${name} job writes ${JOB_TABLES[name]!.columns.join()}, the pipeline ${table.columns.join()}`);
  const open = async () => {
    const response = await fetch(url);
    if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status}`);
    return response.body;
  };
  const started = Date.now();
  const result = name === "orders" ? await ordersJob(env.DB, open, sizes) : await readingsJob(env.DB, await open(), format, sizes);
  return { ms: Date.now() - started, ...result };
}

/** The floor's D1 table, created by the first floor run (the platform at its best does not ask again). */
let floorTable: Promise<unknown> | null = null;

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/bench/floor-run" && request.method === "POST") {
      floorTable ??= env.DB.prepare("CREATE TABLE IF NOT EXISTS bench_floor (run_id TEXT, body TEXT)").run();
      await floorTable;
      await env.FloorCoordinator.getByName("default").run(`floor-${Date.now()}-${Math.random().toString(36).slice(2)}`);
      return Response.json({ ok: true });
    }
    const sizes = { rowsPerStatement: Number(url.searchParams.get("rows") ?? "100"), statementsPerBatch: Number(url.searchParams.get("statements") ?? "100") };
    if (url.pathname === "/bench/literal-upsert" && request.method === "POST") {
      const name = url.searchParams.get("pipeline") ?? "default";
      if (!ROWS[name]) return Response.json({ error: `no synthetic rows for ${name}` }, { status: 400 });
      const count = Number(url.searchParams.get("n") ?? "0");
      return Response.json({ rows: count, ms: await literalFloor(env, name, count, sizes) });
    }
    if (url.pathname === "/bench/job" && request.method === "POST") {
      const name = url.searchParams.get("pipeline") ?? "default";
      if (!JOB_TABLES[name]) return Response.json({ error: `no job for ${name}` }, { status: 400 });
      return Response.json(await job(env, name, url.searchParams.get("url")!, (url.searchParams.get("format") ?? "ndjson") as "ndjson" | "json" | "csv", sizes));
    }
    if (url.pathname === "/bench/parquet-floor" && request.method === "POST") {
      const count = Number(url.searchParams.get("n") ?? "0");
      const result = await env.FloorLake.getByName("default").write(count, Number(url.searchParams.get("days") ?? "30"), Number(url.searchParams.get("rowsPerFile") ?? "100000"));
      return Response.json({ rows: count, ...result });
    }
    if (url.pathname === "/bench/parquet-files") return Response.json(await parquetFiles(env, url.searchParams.get("prefix") ?? ""));
    if (url.pathname === "/bench/drops-seed" && request.method === "POST") {
      const number = (name: string) => Number(url.searchParams.get(name));
      return Response.json(await seedDrops(env, number("files"), number("minRows"), number("maxRows")));
    }
    if (url.pathname === "/bench/drops-floor" && request.method === "POST") return Response.json(await dropsFloor(env, sizes));
    if (url.pathname === "/bench/read-floor") {
      const reader = env.FloorReader.getByName("default");
      if (request.method === "PUT") {
        await reader.seed(await request.text());
        return Response.json({ ok: true });
      }
      const body = await reader.read();
      return body === null ? Response.json({ error: "not seeded" }, { status: 404 }) : new Response(body, { headers: { "content-type": "application/json" } });
    }
    return worker.fetch(request, env, ctx);
  },
  scheduled: worker.scheduled,
  queue: worker.queue,
} satisfies ExportedHandler<BenchEnv>;
