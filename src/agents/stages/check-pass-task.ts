import { NOTHING_STAGED } from "../../domain/staged-data";
import type { StageReport } from "../../domain/stage-report";
import { lookupPlace } from "../../destinations";
import { runCheckPass, type ScratchSql } from "../../engine/check-pass";
import { passTargets } from "../../engine/check-targets";
import type { CheckKey } from "../../engine/check-tally";
import { resolveChecks } from "../../engine/checks";
import { deployment } from "../../pipelines";
import { readStaged } from "../../staging/staging-store";
import type { StageContext, StageTask } from "./stage-task";
import { Yielder } from "./yield";

/**
 * One partition of the dataset checks' partitioned pass, run by a transform agent of its own once every
 * transform shard is done: the partition's check keys from all shards go through the agent's SQLite (gone
 * with the agent), the target tables are read from D1. Reports findings, never rows.
 */
export async function runCheckPassTask(env: Env, sql: SqlStorage, task: StageTask, { signal, progress }: StageContext): Promise<StageReport> {
  const pipeline = deployment.require(task.settings.pipeline);
  const bindings = env as unknown as Record<string, unknown>;
  const targets = passTargets(pipeline, (name) => deployment.find(name), (place) => lookupPlace(place, bindings));
  const scratch: ScratchSql = { exec: (query, ...params) => sql.exec(query, ...params) };
  const staged = task.input.records[0] ?? NOTHING_STAGED;
  async function* keys(): AsyncGenerator<CheckKey[]> {
    for await (const chunk of readStaged(env.STAGING, staged)) yield chunk.records as CheckKey[];
  }
  // Proof of life for the stall watchdog (no counts of its own: the transform's stay as they were), and a
  // turn for everything else between pieces of work: locally every agent shares one isolate.
  const yielder = new Yielder();
  const between = async (work: number) => {
    progress({ inputCount: 0, outputCount: 0, rejectedCount: 0 });
    await yielder.after(work);
  };
  const found = await runCheckPass(resolveChecks(pipeline.checks), scratch, keys(), targets, { signal, between });
  return { inputCount: staged.count, outputCount: 0, rejectedCount: 0, output: [], rejected: NOTHING_STAGED, rejectedSample: [], checks: { tally: { rows: 0, columns: {}, found }, keys: [] } };
}
