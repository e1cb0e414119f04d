/**
 * The benchmark's Worker: the real service (same app, same agents) plus the floors it is measured
 * against, so both run in the same workerd on the same machine. Never deployed: `npm run bench` writes a
 * wrangler config pointing here.
 *
 * - FloorScheduler → FloorCoordinator → three fresh FloorStage agents in sequence: the hops and storage
 *   writes of a four-record run (a SQLite write per agent, an R2 put and get per hand-over, a D1 insert,
 *   staging cleanup), doing no work.
 * - POST /bench/raw-insert?n=: the synthetic rows written straight to D1 with the same multi-row upserts
 *   the load stage uses, generated a chunk at a time.
 */
import { Agent, getAgentByName } from "agents";
import { upsertRows } from "../src/db/destination";
import { resolveSettings } from "../src/engine/settings";
import { stagedRow } from "../src/engine/staged-row";
import worker from "../src/index";
import readings from "../src/pipelines/default/pipeline";
import { syntheticRow } from "./synthetic";

export { PipelineScheduler, PipelineCoordinator, ExtractStage, TransformStage, LoadStage } from "../src/index";

interface BenchEnv extends Env {
  FloorScheduler: DurableObjectNamespace<FloorScheduler>;
  FloorCoordinator: DurableObjectNamespace<FloorCoordinator>;
  FloorStage: DurableObjectNamespace<FloorStage>;
}

export class FloorScheduler extends Agent<BenchEnv> {
  async trigger(runId: string): Promise<void> {
    const coordinator = await getAgentByName(this.env.FloorCoordinator, "default");
    await coordinator.run(runId);
  }
}

export class FloorCoordinator extends Agent<BenchEnv> {
  async run(runId: string): Promise<void> {
    this.sql`CREATE TABLE IF NOT EXISTS floor_runs (run_id TEXT PRIMARY KEY, status TEXT NOT NULL)`;
    this.sql`INSERT INTO floor_runs (run_id, status) VALUES (${runId}, 'running')`;
    let previous: string | null = null;
    for (const stage of ["extract", "transform", "load"] as const) {
      const agent = await getAgentByName(this.env.FloorStage, `${runId}:${stage}`);
      previous = await agent.work(runId, stage, previous);
      this.sql`UPDATE floor_runs SET status = ${stage} WHERE run_id = ${runId}`;
    }
    await this.env.STAGING.delete([`floor/${runId}/extract`, `floor/${runId}/transform`]);
    this.sql`UPDATE floor_runs SET status = 'succeeded' WHERE run_id = ${runId}`;
  }
}

export class FloorStage extends Agent<BenchEnv> {
  async work(runId: string, stage: string, previous: string | null): Promise<string> {
    this.sql`CREATE TABLE IF NOT EXISTS floor_task (run_id TEXT, stage TEXT)`;
    this.sql`INSERT INTO floor_task (run_id, stage) VALUES (${runId}, ${stage})`;
    if (previous) await (await this.env.STAGING.get(previous))?.text();
    const key = `floor/${runId}/${stage}`;
    if (stage === "load") {
      await this.env.DB.prepare("INSERT INTO bench_floor (run_id) VALUES (?)").bind(runId).run();
    } else {
      await this.env.STAGING.put(key, "{}\n");
    }
    await this.schedule(0, "selfDestruct");
    return key;
  }

  async selfDestruct(): Promise<void> {
    await this.destroy();
  }
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/bench/floor-run" && request.method === "POST") {
      await env.DB.prepare("CREATE TABLE IF NOT EXISTS bench_floor (run_id TEXT)").run();
      const scheduler = await getAgentByName(env.FloorScheduler, "default");
      await scheduler.trigger(`floor-${Date.now()}-${Math.random().toString(36).slice(2)}`);
      return Response.json({ ok: true });
    }
    if (url.pathname === "/bench/raw-insert" && request.method === "POST") {
      const count = Number(url.searchParams.get("n") ?? "0");
      const perBatch = Number(url.searchParams.get("statements") ?? "100");
      const pipeline = `raw-${Date.now()}`;
      const resolved = resolveSettings(readings, env as unknown as Record<string, unknown>);
      if (!resolved.ok) throw new Error(resolved.errors.join("; "));
      const started = Date.now();
      for (let start = 0; start < count; start += 5_000) {
        const rows = Array.from({ length: Math.min(5_000, count - start) }, (_, offset) => {
          const row = syntheticRow(start + offset);
          return stagedRow(start + offset, row.id, [pipeline, row.id, row.timestamp, row.value, row.category, row.type]);
        });
        await upsertRows(env.DB, resolved.settings.destination, "raw-insert", rows, started, perBatch);
      }
      return Response.json({ rows: count, ms: Date.now() - started });
    }
    return worker.fetch(request, env, ctx);
  },
  scheduled: worker.scheduled,
} satisfies ExportedHandler<BenchEnv>;
