/**
 * The benchmark's Worker: the real service (same app, same agents) plus the floors it is measured
 * against, so both run in the same workerd on the same machine. Never deployed: `npm run bench` writes a
 * wrangler config pointing here. A floor is the platform at its best, the plainest code doing the same
 * storage work, never our own code path:
 *
 * - POST /bench/floor-run: Worker → FloorCoordinator → three fresh FloorStage agents in sequence, plain
 *   stubs; each stage one SQLite write and an R2 put/get hand-over, the last one D1 insert; the
 *   coordinator writes its run row. The hops of a four-record run, doing nothing else.
 * - POST /bench/plain-upsert?pipeline=&n=&statements=: the pipeline's synthetic rows, its own columns only,
 *   into a plain copy of its table: multi-row `INSERT … ON CONFLICT DO UPDATE`, as many rows per statement
 *   as 100 parameters allow, `statements` statements per `batch()`, no RETURNING.
 * - GET /bench/read-floor: one agent answering a stored JSON text from its SQLite (PUT seeds the text).
 */
import { Agent } from "agents";
import worker from "../src/index";
import { deployment } from "../src/pipelines";
import { columnSettings } from "../src/engine/columns";
import { BENCH_EXTRA_PIPELINES } from "./extra-pipelines";
import { syntheticOrderRow, syntheticRow } from "./synthetic";

export { PipelineScheduler, PipelineCoordinator, ExtractStage, TransformStage, LoadStage } from "../src/index";

// GET /api/pipelines is measured with five pipelines declared.
for (const pipeline of BENCH_EXTRA_PIPELINES) deployment.add(pipeline);

interface BenchEnv extends Env {
  FloorCoordinator: DurableObjectNamespace<FloorCoordinator>;
  FloorStage: DurableObjectNamespace<FloorStage>;
  FloorReader: DurableObjectNamespace<FloorReader>;
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

/** The synthetic rows of the pipelines the volume benchmark runs, in their columns' order. */
const ROWS: Record<string, (index: number) => unknown[]> = {
  default: (index) => {
    const row = syntheticRow(index);
    return ["default", row.id, row.timestamp, row.value, row.category, row.type];
  },
  orders: (index) => Object.values(syntheticOrderRow(index)),
};

async function plainUpsert(env: BenchEnv, name: string, count: number, perBatch: number): Promise<number> {
  const pipeline = deployment.find(name)!;
  const columns = columnSettings(pipeline.destination.columns);
  const names = columns.map((column) => column.name);
  const table = `floor_${(pipeline.destination as { table: string }).table}`;
  const key = pipeline.destination.key;
  await env.DB.prepare(`DROP TABLE IF EXISTS ${table}`).run();
  await env.DB.prepare(
    `CREATE TABLE ${table} (${columns.map((column) => `${column.name} ${column.type.toUpperCase()}${column.nullable ? "" : " NOT NULL"}`).join(", ")}, PRIMARY KEY (${key.join(", ")}))`,
  ).run();
  const perStatement = Math.floor(100 / names.length);
  const sqlFor = (rows: number) =>
    `INSERT INTO ${table} (${names.join(", ")}) VALUES ${Array.from({ length: rows }, () => `(${names.map(() => "?").join(", ")})`).join(", ")} ` +
    `ON CONFLICT (${key.join(", ")}) DO UPDATE SET ${names.filter((column) => !key.includes(column)).map((column) => `${column} = excluded.${column}`).join(", ")}`;
  const full = sqlFor(perStatement);
  const rowOf = ROWS[name]!;
  const started = Date.now();
  let batch: D1PreparedStatement[] = [];
  for (let start = 0; start < count; start += perStatement) {
    const rows = Math.min(perStatement, count - start);
    const values: unknown[] = [];
    for (let index = start; index < start + rows; index += 1) values.push(...rowOf(index));
    batch.push(env.DB.prepare(rows === perStatement ? full : sqlFor(rows)).bind(...values));
    if (batch.length === perBatch) {
      await env.DB.batch(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await env.DB.batch(batch);
  return Date.now() - started;
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
    if (url.pathname === "/bench/plain-upsert" && request.method === "POST") {
      const name = url.searchParams.get("pipeline") ?? "default";
      if (!ROWS[name]) return Response.json({ error: `no synthetic rows for ${name}` }, { status: 400 });
      const count = Number(url.searchParams.get("n") ?? "0");
      const ms = await plainUpsert(env, name, count, Number(url.searchParams.get("statements") ?? "100"));
      return Response.json({ rows: count, ms });
    }
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
} satisfies ExportedHandler<BenchEnv>;
